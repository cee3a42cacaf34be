#!/usr/bin/env bash
# Every GPU check and benchmark of Part III (groundup.gpt, groundup.train) in one run,
# under 8 minutes on an H200. Results: $OUT/gpu_results.md (or benchmarks/gpu_results.md).
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
exec timeout 470 "$PY" -m benchmarks.gpu_train "$@"
