"""Sentence embeddings with all-MiniLM-L6-v2: ``groundup.bert.embed`` vs sentence-transformers'
``SentenceTransformer.encode``, same weights, same texts, one process.

    python -m benchmarks.embed                    # CPU, torch's default threads
    python -m benchmarks.embed --threads 1 --n 500
    python -m benchmarks.embed --device cuda      # on a GPU

Two sets of real text from the built-in corpus (Python's documentation):

* sentences: single sentences (about 10-40 tokens each);
* passages:  paragraphs of 400-1,500 characters (about 100-256 tokens, truncated at 256).

Both sides sort by length and batch (64 texts), mean-pool and L2-normalise. Each side runs
``--repeats`` times, alternating ours and theirs so that a change in the machine's speed
hits both; the median is reported as texts per second, with ours / theirs. The vectors are
checked equal (max |difference|). Tokenisation is included on both sides (theirs is Rust,
ours Python): it is part of what a user waits for, and its share of ours is printed.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch


def texts_from_corpus(n: int) -> dict[str, list[str]]:
    from groundup.data import builtin_corpus

    paragraphs = [" ".join(p.split()) for p in builtin_corpus().split("\n\n")]
    passages = [p for p in paragraphs if 400 <= len(p) <= 1500][:n]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if 40 <= len(s) <= 200][:n]
    return {"sentences": sentences, "passages": passages}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="texts per set")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from sentence_transformers import SentenceTransformer

    from groundup.bert import embed, load_minilm, minilm_dir

    model, tok = load_minilm()
    model = model.to(args.device)
    st = SentenceTransformer(str(minilm_dir()), device=args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"load average {os.getloadavg()[0]:.1f}")

    for name, texts in texts_from_corpus(args.n).items():
        n_tokens = sum(min(len(tok.encode(t)["input_ids"]), 256) for t in texts)
        ours_fn = lambda: embed(texts, model, tok, batch_size=args.batch_size, progress=False)  # noqa: E731
        theirs_fn = lambda: st.encode(texts, batch_size=args.batch_size, convert_to_tensor=True,  # noqa: E731
                                      normalize_embeddings=True)
        ours_fn(), theirs_fn()  # warm-up
        t_ours, t_theirs = [], []
        for _ in range(args.repeats):
            for fn, out in ((ours_fn, t_ours), (theirs_fn, t_theirs)):
                sync()
                t0 = time.perf_counter()
                v = fn()
                sync()
                out.append(time.perf_counter() - t0)
        diff = (ours_fn() - theirs_fn().float().cpu()).abs().max().item()
        tok.__dict__.pop("_pieces", None)
        tok._pieces = __import__("functools").lru_cache(maxsize=1 << 16)(tok._wordpiece)  # cold word cache
        t0 = time.perf_counter()
        for t in texts:
            tok.encode(t, truncation=True, max_length=256)
        t_tok = time.perf_counter() - t0
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        print(f"{name:9s} {len(texts)} texts, {n_tokens / len(texts):.0f} tokens each on average | "
              f"ours {len(texts) / a:8.1f} texts/s | sentence-transformers {len(texts) / b:8.1f} texts/s | "
              f"ours/theirs {b / a:.2f}x | our tokenizer {100 * t_tok / a:.0f}% of our time (cold cache) | "
              f"max |diff| {diff:.1e}")
        del v


if __name__ == "__main__":
    main()
