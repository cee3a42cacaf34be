"""The website: builds with zero warnings, and its pages render in a real browser."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import ROOT

# One xdist group (Makefile: --dist loadgroup): every book test runs on the worker that builds
# the book, so no other worker sits waiting on the build's lock while it could run other tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Build the book once per test run, as `make book` does (-W -n --keep-going).

    pytest-xdist workers share the build: the first to arrive builds under a file lock
    in the run's common temporary folder, the others wait and reuse it.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own base (.../pytest-N/popen-gw0); the run's is its parent.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, result = shared / "book", shared / "book-result.json"
    with FileLock(str(shared / "book.lock")):
        if not result.exists():
            # As `make book`: the pages execute in parallel into the build's jupyter-cache first;
            # a page that fails there is executed again by the build, which reports it.
            pre = subprocess.run([sys.executable, "-m", "groundup.bookcache", "--root", str(ROOT),
                                  "--cache", str(out / "_build" / ".jupyter_cache"), "--jobs", "2"],
                                 capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
            jb = Path(sys.executable).parent / "jupyter-book"
            proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going",
                                   "--path-output", str(out)],
                                  capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
            result.write_text(json.dumps({"returncode": proc.returncode, "log": proc.stdout + proc.stderr,
                                          "bookcache": pre.stdout + pre.stderr}))
    built = json.loads(result.read_text())
    return built["returncode"], built["log"], out / "_build" / "html"


def test_book_builds_with_zero_warnings(built_site):
    returncode, log, html = built_site
    warnings = [line for line in log.splitlines() if "WARNING" in line and "Kernel is running over TCP" not in line]
    assert returncode == 0, f"jupyter-book build failed:\n{log[-5000:]}"
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    assert (html / "index.html").exists()


def test_every_page_in_the_toc_is_built(built_site):
    from groundup.bookcache import toc_files

    *_, html = built_site
    files = toc_files(ROOT)
    assert len(files) > 20, files  # the walk found the parts, chapters and sections
    missing = [f for f in files if not (html / f"{f}.html").exists()]
    assert not missing


def test_exercise_pages_have_a_colab_button(built_site):
    import yaml

    *_, html = built_site
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    repo = url.removeprefix("https://github.com/")
    for page in (html / "exercises").glob("*/*.html"):
        rel = page.relative_to(html).with_suffix(".ipynb")
        expected = f"https://colab.research.google.com/github/{repo}/blob/main/{rel.as_posix()}"
        assert expected in page.read_text(), f"{rel}: no Colab launch button pointing at {expected}"


def test_exercise_pages_start_with_the_title_and_fold_the_set_up_code(built_site):
    """The site leaves out the Colab set-up cell (it only acts on Colab) and folds the locked
    helper cells before section 1 (groundup.book.tidy_exercise); the notebooks keep both."""
    *_, html = built_site
    pages = sorted((html / "exercises").glob("*/*.html"))
    assert pages
    for page in pages:
        main = page.read_text()
        main = main[main.find('<article class="bd-article"'):]
        assert "google.colab" not in main, f"{page.name}: the Colab set-up cell is shown"
        assert main.find("<h1") < main.find('class="cell'), f"{page.name}: code comes before the title"
        assert "hide-input" in main, f"{page.name}: the helper cells before section 1 are not folded"


def chromium_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return browser, driver


@pytest.fixture(scope="session")
def browser():
    browser_path, driver_path = chromium_paths()
    if not (browser_path and driver_path):
        message = ("Chromium is not installed, so the browser smoke test cannot run. Enable it with "
                   "`apt-get install chromium chromium-driver` (.ci/run does this in CI).")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000"):  # a laptop screen: sidebar shown
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def server(built_site):
    *_, html = built_site

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@functools.cache
def axe_source() -> str:
    """axe-core's script (570 kB), read once for all the pages."""
    from importlib.resources import files

    return (files("axe_playwright_python") / "axe.min.js").read_text()


# axe's colour-contrast rule takes ~80% of its time (ch10 at load 2: 21.6 s with it, 4.0 s
# without; whole page tests took 60-130 s each at load 12), and every page takes its colours
# from the same theme, Pygments style and _static/groundup.css. So colour contrast is checked on
# one page of each kind, with the most kinds of element (tables, admonitions, glued numbers, code
# and outputs); every other rule runs on every page.
CONTRAST_PAGES = {"index.html", "chapters/ch14_casebook.html", "chapters/ch02_next_token.html",
                  "exercises/ch01_tokens/ch01_tokens.html"}


def run_axe(driver, contrast: bool = True) -> list[dict]:
    """axe-core's violations on the current page (each with "id", "impact", "help", "nodes")."""
    driver.set_script_timeout(120)
    driver.execute_script(axe_source())
    rules = "" if contrast else (", rules: {'color-contrast': {enabled: false}, "
                                 "'color-contrast-enhanced': {enabled: false}}")
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']" + rules + "})"
        ".then(r => done(r.violations), e => done(String(e)));")
    assert isinstance(result, list), f"axe failed to run: {result}"
    return result


# Elements in the page's flow whose right edge is past the window (scrolling boxes such as code
# blocks, and fixed drawers such as the theme's hidden sidebars, do not widen the page).
NARROW_OVERFLOW = """
const w = document.documentElement.clientWidth, out = [];
if (document.documentElement.scrollWidth <= w) return out;
for (const e of document.querySelectorAll('body *')) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.right <= w + 1) continue;
  let p = e.parentElement, contained = getComputedStyle(e).position === 'fixed';
  for (; p && !contained; p = p.parentElement) {
    const s = getComputedStyle(p);
    contained = ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX) || s.position === 'fixed';
  }
  if (!contained) out.push(e.tagName.toLowerCase() + '.' + e.className + ': ' + (e.innerText || '').slice(0, 60));
}
return out.length ? out.slice(0, 10) : ['the page is ' + document.documentElement.scrollWidth + ' px wide'];
"""


MIN_TEXT_PX = 9  # the smallest legible text on the page, in CSS pixels at 100% zoom


def check_figure_text(driver, html: Path, page: str) -> None:
    """Every figure's smallest text (stamped into its PNG by groundup.figtext, in image pixels)
    times the scale the page shows the image at (width on screen / width of the image) is at
    least MIN_TEXT_PX, with the window at 1280 px (the widest the content column gets)."""
    from groundup.figtext import KEY, read_text_chunks

    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('div.cell_output img'))"
        ".map(i => [i.getAttribute('src'), i.clientWidth, i.naturalWidth]);")
    stamped, small = 0, []
    for i, (src, shown, natural) in enumerate(images):
        if src.startswith("data:") or not natural:
            continue
        chunks = read_text_chunks((html / page).parent.joinpath(src).resolve().read_bytes())
        if KEY not in chunks:
            continue  # not a pyplot figure
        stamped += 1
        px = float(chunks[KEY]) * min(1.0, shown / natural)
        if px < MIN_TEXT_PX:
            small.append(f"figure {i + 1}: text {float(chunks[KEY]):.1f} px in the image, shown at "
                         f"{shown}/{natural} = {shown / natural:.2f}x: {px:.1f} px")
    assert stamped, f"{page}: no figure carries its text size (chapters/matplotlibrc and groundup.figtext)"
    assert not small, (f"{page}: figure text smaller than {MIN_TEXT_PX} px on the page; make the figure "
                       f"narrower (figsize) or its text larger: {small}")


@pytest.mark.browser
@pytest.mark.parametrize("page,heading,code_snippet", [
    ("index.html", "Ground Up", None),
    ("chapters/ch01_tokens.html", "Tokens", "def get_stats"),
    ("chapters/ch02_next_token.html", "Predicting the next token", "class BigramCounts"),
    ("chapters/ch03_attention.html", "Attention", "def scaled_dot_product_attention"),
    ("chapters/ch04_positions.html", "Where is each token?", "def sinusoidal_encoding"),
    ("chapters/ch05_gpt.html", "Assembling GPT-2", "def layer_norm_naive"),
    ("chapters/ch06_training.html", "Training it, fast", "def prepare"),
    ("chapters/ch07_generate.html", "Generating text", "def top_p_filter"),
    ("chapters/ch08_finetune.html", "Fine-tuning, and what it forgets", "def make_noisy"),
    ("chapters/ch09_bert.html", "BERT: reading in both directions", "def wordpiece_naive"),
    ("chapters/ch10_embeddings.html", "What embedding distances mean, and where they break", "def l2_normalize"),
    ("chapters/ch11_sparse_retrieval.html", "Sparse retrieval, and measuring a retriever", "def bm25_scores_naive"),
    ("chapters/ch12_dense_retrieval.html", "Dense retrieval, approximate search, and scale", "def exact_search"),
    ("chapters/ch13_rag.html", "Retrieval-augmented generation", "def rag_sequence_logprob"),
    ("chapters/ch14_casebook.html", "When the system breaks", "def sliding_window_loss"),
    ("chapters/instructors.html", "For instructors: grading a class", None),
    ("exercises/ch01_tokens/ch01_tokens.html", "Exercise 1", None),
    ("exercises/ch09_bert/ch09_bert.html", "Exercise 9", None),
    ("exercises/ch14_casebook/ch14_casebook.html", "Exercise 14", None),
])
def test_page_renders_without_console_errors(browser, server, page, heading, code_snippet, tmp_path_factory,
                                            built_site):
    from selenium.webdriver.common.by import By

    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged: this test judges its own page
    browser.get(f"{server}/{page}")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def visible_titles(driver):
        return [h.text for h in driver.find_elements(By.TAG_NAME, "h1") if h.is_displayed() and h.text]

    WebDriverWait(browser, 20).until(visible_titles)
    titles = visible_titles(browser)
    assert any(heading in t for t in titles), f"{page}: visible h1 headings are {titles}"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"console errors on {page}: {errors}"
    searches = [e for e in browser.find_elements(By.CSS_SELECTOR, ".search-button-field") if e.is_displayed()]
    assert len(searches) == 1, f"{page}: {len(searches)} search boxes on screen (_static/groundup.css keeps one)"
    # Outputs wrap at the column's edge (_static/groundup.css): none runs past it.
    cut = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.cell_output pre'))"
        ".filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText.slice(0, 80));")
    assert not cut, f"{page}: outputs wider than the column: {cut}"
    # Accessibility: axe-core (bundled by axe-playwright-python; run here through Selenium).
    serious = [v for v in run_axe(browser, contrast=page in CONTRAST_PAGES)
               if v["impact"] in ("serious", "critical")]
    assert not serious, f"{page}: axe found {[(v['id'], v['help'], len(v['nodes'])) for v in serious]}"
    if code_snippet:
        blocks = browser.find_elements(By.CSS_SELECTOR, "div.highlight pre")
        assert any(code_snippet in b.text for b in blocks), f"{page}: no rendered code block shows {code_snippet!r}"
        headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h2")]
        assert len(headings) >= 5, f"{page}: section headings did not render: {headings}"
        # Cell outputs were executed at build time and are on the page.
        outputs = browser.find_elements(By.CSS_SELECTOR, "div.cell_output")
        assert outputs, f"{page}: no executed cell outputs"
        figures = browser.find_elements(By.CSS_SELECTOR, "div.cell_output img")
        assert figures, f"{page}: no figure reached the page (a plot backend that draws nowhere?)"
        check_figure_text(browser, built_site[2], page)
    # A 400 px wide screen (a phone): nothing makes the page scroll sideways.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        # index.html only redirects (meta refresh) to intro.html: measure the page it shows
        browser.get(f"{server}/{'intro.html' if page == 'index.html' else page}")
        WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
        shot = tmp_path_factory.getbasetemp() / "narrow" / page.replace("/", "_").replace(".html", ".png")
        shot.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(shot))
        wide = browser.execute_script(NARROW_OVERFLOW)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not wide, f"{page}: at 400 px these run past the screen's edge (screenshot {shot}): {wide}"


# TeX that MathJax would have typeset: its delimiters and the commands the chapters use most.
RAW_TEX = re.compile(r"\\[()\[\]]|\\(?:mathrm|frac|sqrt|top|sum|cdot|times|text|left|right|begin|end)\b")


@pytest.mark.browser
def test_search_snippets_show_math_without_tex(browser, server):
    """The search page's snippets read math as text ("Q Kᵀ"), not TeX ("\\(Q K^\\top\\)"): Sphinx cuts
    them from each hit's HTML, which MathJax has not typeset (_static/search_snippets.js)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # "softmax" sits next to math in the snippets of several chapters and exercises.
    browser.get(f"{server}/search.html?q=softmax")
    hits = "#search-results ul.search > li"

    def snippets(driver):
        # Sphinx adds a hit's snippet (p.context) once it has fetched that page; all are in when
        # the status line is filled in (all hits listed) and every hit has one.
        done = driver.find_elements(By.CSS_SELECTOR, "#search-results p.search-summary:not(:empty)")
        found = driver.find_elements(By.CSS_SELECTOR, f"{hits} > p.context")
        return done and len(found) == len(driver.find_elements(By.CSS_SELECTOR, hits)) and found

    texts = [p.text for p in WebDriverWait(browser, 30).until(snippets, "not every hit got a snippet")]
    assert all(texts), f"empty snippets: {texts}"
    raw = [t for t in texts if RAW_TEX.search(t)]
    assert not raw, f"{len(raw)} of {len(texts)} snippets show raw TeX: {raw[:3]}"
    math = [t for t in texts if any(c in t for c in "ᵀ×√Σ·∈")]
    assert math, f"no snippet shows math (the test needs a query word next to some): {texts}"
