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
