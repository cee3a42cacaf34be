#!/usr/bin/env bash
# Chapter 12's scale run on the GPU machine, from an export (see benchmarks/retrieval_scale.py):
# the passages are embedded on CUDA (all cores free for tokenising), then the process pins
# itself to cores 0,1 and measures everything else at 2 threads, as on the course's 2-core CPU.
#
#   run(command="bash benchmarks/gpu_scale.sh", carry=[".scale"], timeout_s=600)
#
# Writes $OUT/retrieval_scale.json (saved after every step, so a run cut short still returns
# what it measured), $OUT/retrieval_scale.log and $OUT/gpu.txt. Embedding shards are cached
# in .scale-cache/ (ignored, never carried): if the first call stops at its limit, the same
# call again on the still-warm machine (within 30 s) skips the finished shards.
# Extra arguments go to the Python run, e.g. `bash benchmarks/gpu_scale.sh --n-docs 20000`.
set -uo pipefail
OUT=${OUT:-out/gpu_scale}
mkdir -p "$OUT"
export PYTHONPATH=lib PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
PY=${PY:-python3}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; uptime; } >"$OUT/gpu.txt" 2>&1
# 560 s leaves the 600 s call time to copy $OUT back; a killed run keeps its last save().
timeout "${LIMIT_S:-560}" "$PY" -m benchmarks.retrieval_scale --from-export .scale --device "${DEVICE:-cuda}" \
    --batch-size "${BATCH:-512}" --threads 2 --pin-cpus 0,1 --out "$OUT/retrieval_scale.json" "$@" \
    2>&1 | tee "$OUT/retrieval_scale.log"
echo "exit ${PIPESTATUS[0]}" | tee -a "$OUT/retrieval_scale.log"
