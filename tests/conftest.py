import os
import sys
from pathlib import Path

# Headless plotting everywhere; tests never open windows.
os.environ.setdefault("MPLBACKEND", "Agg")
# The harness module sits beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
