"""What a learner has on Colab: the course's core dependencies and Colab's preinstalled packages.

The first cell of every exercise runs ``pip install groundup`` (no extras) on Colab. A
notebook that imports anything else works here and fails there. ``colab_env(tmp)`` builds
a site-packages folder holding links to the installed distributions that Colab or the
core install would bring (and nothing else), and returns the environment in which notebook
kernels use it instead of the real one (see ``colab_site/sitecustomize.py``). So the tests
that execute the exercises also show they run on Colab.
"""

from __future__ import annotations

import os
import re
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

# Preinstalled on a Colab CPU runtime: the packages the course could lean on (Colab has many
# more). Deliberately absent: tiktoken, faiss, bm25s, qdrant-client, peft, nbgrader: whatever
# the exercises need of those must come with `pip install groundup`.
COLAB_PREINSTALLED = [
    "torch", "numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "pillow", "tqdm", "requests",
    "regex", "pyyaml", "transformers", "tokenizers", "safetensors", "huggingface-hub",
    "sentence-transformers", "ipykernel", "ipython", "ipywidgets",
]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def allowed_distributions(roots: list[str] | None = None) -> set[str]:
    """``groundup`` and Colab's packages with everything they require (no extras), as installed."""
    seen, stack = set(), [_norm(r) for r in (roots or ["groundup", *COLAB_PREINSTALLED])]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(_norm(req.name))
    return seen


def colab_site(folder: Path, site_packages: Path | None = None) -> Path:
    """Fill ``folder`` with links to what an allowed distribution installed in site-packages."""
    site_packages = Path(site_packages or sysconfig.get_paths()["purelib"])
    allowed = allowed_distributions()
    keep: set[str] = set()
    for dist in metadata.distributions(path=[str(site_packages)]):
        if _norm(dist.metadata["Name"]) not in allowed:
            continue
        keep.add(Path(dist._path).name)  # its .dist-info folder  # noqa: SLF001
        for f in dist.files or []:
            keep.add(f.parts[0])  # the top-level entries it installed (packages, modules, .libs, .pth)
    folder.mkdir(parents=True, exist_ok=True)
    for entry in site_packages.iterdir():
        if entry.name in keep:
            (folder / entry.name).symlink_to(entry)
    return folder


def colab_env(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default os.environ) plus what makes notebook kernels see only ``colab_site``."""
    env = dict(os.environ if base is None else base)
    real = Path(sysconfig.get_paths()["purelib"])
    if not (folder / "torch").exists():
        colab_site(folder, real)
    here = str(Path(__file__).parent / "colab_site")
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["GROUNDUP_COLAB_SITE"], env["GROUNDUP_COLAB_REAL_SITE"] = str(folder), str(real)
    return env
