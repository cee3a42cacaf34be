#!/usr/bin/env bash
# Every GPU check and benchmark of Part III (groundup.gpt, groundup.train, groundup.generate)
# in one run, under 8 minutes on an H200: training first (correctness, the speed ladder, the
# trainer; at most 330 s), then decoding (at most 3 x 45 s).
# Results: $OUT/gpu_results.md (+ .json), $OUT/speed_ladder_gpu.json (the Chapter 6 page glues it,
# once copied to benchmarks/results/) and $OUT/gpu_generate.md; without $OUT, the same names in
# benchmarks/ (the ladder in benchmarks/results/).
#   bash benchmarks/gpu.sh            # on a CUDA machine, from the repository root
#   bash benchmarks/gpu.sh --dry-run  # the same code on CPU with a tiny model
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
if [[ -x .venv/bin/python && -z "${PYTHON:-}" ]]; then PY=.venv/bin/python; fi
if [[ " $* " != *" --dry-run "* ]] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "benchmarks/gpu.sh: no CUDA GPU visible to PyTorch; nothing to run (try --dry-run)."
  exit 0
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
# Chapter 6: correctness vs transformers, the speed ladder (GPT-2 124M, context 1,024), the trainer.
# Its own budget (--budget-s 300) skips what would not fit; the timeout is the backstop.
status=0
timeout 330 "$PY" -m benchmarks.gpu_train --budget-s 300 "$@" || status=$?
# Chapter 7: decoding with and without the KV cache, GPT-2 small shapes, fp32 and bf16.
GEN_OUT="${OUT:-benchmarks}/gpu_generate.md"
if [[ " $* " == *" --dry-run "* ]]; then
  timeout 120 "$PY" -m benchmarks.generate --layers 1 --new 8 --repeats 1 | tee "$GEN_OUT" || true
else
  { timeout 45 "$PY" -m benchmarks.generate --device cuda --repeats-uncached 1 || true
    timeout 45 "$PY" -m benchmarks.generate --device cuda --dtype bfloat16 --repeats-uncached 1 || true
    timeout 45 "$PY" -m benchmarks.generate --device cuda --batch 32 --repeats-uncached 1 || true; } | tee "$GEN_OUT"
fi
exit $status
