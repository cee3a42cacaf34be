"""Make a notebook kernel see only what Colab has: `pip install groundup` plus Colab's own packages.

Put on PYTHONPATH by ``tests/colab.py`` for the kernels nbgrader starts in
``test_notebooks.py``. In a notebook kernel (not in nbgrader itself), the environment's
site-packages is swapped for ``GROUNDUP_COLAB_SITE``: a folder of links to the packages a
Colab runtime would have, and nothing else. An import of anything else fails exactly as
on Colab (ModuleNotFoundError; importlib.util.find_spec and importlib.metadata see
nothing), so a notebook that leans on a test-only package fails here too.
"""

import os
import sys

_SITE, _REAL = os.environ.get("GROUNDUP_COLAB_SITE"), os.environ.get("GROUNDUP_COLAB_REAL_SITE")
if _SITE and _REAL and any("ipykernel" in a for a in getattr(sys, "orig_argv", sys.argv)):
    sys.path[:] = [_SITE if os.path.realpath(p) == os.path.realpath(_REAL) else p for p in sys.path]
