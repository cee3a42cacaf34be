"""Execute the book's pages in parallel, into the cache Jupyter Book reads.

Jupyter Book 1 (``execute_notebooks: cache``) executes the pages that are not in its
jupyter-cache one after another. On the 2-core machines the course is built on, that
leaves a core idle for the whole build; with fourteen chapters it is most of
``make book``'s time. This module executes the stale pages first, ``--jobs`` at a time,
and stores each executed notebook in the same cache, keyed the way Jupyter Book keys it
(a hash of the code cells and the kernel spec), so the build that follows only merges
outputs. A page that fails here is simply not cached: the build executes it again and
reports the error as it always has, so nothing is hidden.

    python -m groundup.bookcache                 # before `jupyter-book build .`
    python -m groundup.bookcache --jobs 3 --cache /tmp/out/_build/.jupyter_cache

Pages share models through ``groundup.train.cached_train``, which takes a lock per
configuration, so two pages that need the same model train it once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

__all__ = ["toc_files", "notebook_pages", "read_page", "stale_pages", "execute_pages", "main"]


def toc_files(root: Path) -> list[str]:
    """Every file of ``_toc.yml`` (without its suffix), the root first, in order, whatever the nesting."""
    import yaml

    def files(entry) -> list[str]:
        if isinstance(entry, list):
            return [f for e in entry for f in files(e)]
        if not isinstance(entry, dict):
            return []
        found = [entry["file"]] if "file" in entry else []
        return found + [f for key in ("parts", "chapters", "sections") for f in files(entry.get(key, []))]

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [toc["root"], *files(toc)]


def notebook_pages(root: Path) -> list[Path]:
    """The pages in ``_toc.yml`` that are MyST Markdown notebooks (they name a kernel)."""
    pages = []
    for f in toc_files(root):
        path = root / f"{f}.md"
        if path.exists() and "kernelspec:" in path.read_text().split("\n---", 2)[0]:
            pages.append(path)
    return pages


def read_page(path: Path):
    """The page as the notebook myst-nb hands to the cache (same cells, same metadata)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(path.read_text(), config=MdParserConfig(), path=path)


def stale_pages(pages: list[Path], cache_path: Path) -> list[Path]:
    """The pages whose code has no executed notebook in the cache."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    stale = []
    for page in pages:
        try:
            cache.match_cache_notebook(read_page(page))
        except KeyError:
            stale.append(page)
    return stale


def _execute(path: str, timeout: int) -> tuple[str, object, float, str | None]:
    """Run in a worker process: execute one page in its folder, as the build would."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = read_page(Path(path))
    result = single_nb_execution(nb, cwd=str(Path(path).parent), allow_errors=False, timeout=timeout,
                                 meta_override=True)
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return path, nb, result.time, error


def execute_pages(pages: list[Path], cache_path: Path, *, jobs: int = 2, timeout: int = 600,
                  log=print) -> dict[str, float | None]:
    """Execute ``pages`` ``jobs`` at a time and cache the ones that succeed.

    Returns page -> seconds it took, or ``None`` for a page that failed (left to the build).
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    # Longest first (by source size, the best guess before a first run) keeps the cores busy.
    order = sorted(pages, key=lambda p: p.stat().st_size, reverse=True)
    times: dict[str, float | None] = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_execute, str(p), timeout) for p in order]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            name = Path(path).name
            if error:
                times[path] = None
                log(f"  {name}: failed after {seconds:.0f} s ({error.splitlines()[0][:200]}); "
                    "the build will run it again and report the error")
                continue
            cache.cache_notebook_bundle(CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            times[path] = seconds
            log(f"  {name}: executed in {seconds:.0f} s")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m groundup.bookcache", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the book's folder (default: here)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="jupyter-cache folder (default: ROOT/_build/.jupyter_cache, as jupyter-book uses)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="pages executed at once")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (as _config.yml's execute.timeout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    cache_path = args.cache or root / "_build" / ".jupyter_cache"
    pages = notebook_pages(root)
    stale = stale_pages(pages, cache_path)
    print(f"bookcache: {len(pages) - len(stale)} of {len(pages)} pages already executed; "
          f"executing {len(stale)} with {args.jobs} at a time", flush=True)
    if not stale:
        return 0
    start = time.perf_counter()
    times = execute_pages(stale, cache_path, jobs=args.jobs, timeout=args.timeout,
                          log=lambda m: print(m, flush=True))
    failed = [p for p, t in times.items() if t is None]
    print(f"bookcache: {len(stale) - len(failed)} pages executed in {time.perf_counter() - start:.0f} s wall "
          f"({sum(t for t in times.values() if t):.0f} s of page time)"
          + (f"; {len(failed)} failed, left to the build" if failed else ""), flush=True)
    return 0  # failures are reported by the build itself, with its usual error


if __name__ == "__main__":
    sys.exit(main())
