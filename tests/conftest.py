import os
import sys
from pathlib import Path

# Headless plotting everywhere; tests never open windows.
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs one worker per core: one thread each avoids oversubscribing the
# cores (tiny tensors run many times slower when two workers each use two threads).
# Set before torch is imported; the notebook kernels and the book build inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
# The harness module sits beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

from localhttp import data_sandbox, server  # noqa: E402,F401  (fixtures for every test file)
