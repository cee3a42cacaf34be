"""``python -m groundup.retrieval evaluate PATH --method bm25``: see ``groundup.retrieval.cli``."""

from groundup.retrieval.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
