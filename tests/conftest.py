import os
import sys
from pathlib import Path

import pytest

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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` group the tests marked ``xdist_group`` again.

    pytest-xdist (3.8) groups by appending ``@group`` to ``item._nodeid``; pytest 9.2 keeps
    the node id in ``item._id`` instead, so the suffix was silently lost and the book's
    tests were spread over both workers, one of them idling on the build's lock for the
    whole build. Applying the suffix here is a no-op where xdist already did it.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if not groups or "@" in item.nodeid:
            continue
        nodeid = f"{item.nodeid}@{'_'.join(groups)}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(nodeid)
        else:
            item._nodeid = nodeid
