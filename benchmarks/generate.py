"""Decoding with and without the KV cache, ours and transformers', at GPT-2 small's shapes.

    python -m benchmarks.generate                       # CPU, 2 threads, 200 new tokens
    python -m benchmarks.generate --device cuda         # on a GPU (benchmarks/gpu.sh runs it)
    python -m benchmarks.generate --new 50 --layers 2   # a quick look

One process, one set of weights (GPT-2 small's architecture, randomly initialised: speed
does not depend on the values), greedy decoding so that every side does the same work
and must produce the same tokens (checked). Four sides, each timed on the same prompt:

* ours, cache:    ``groundup.generate.generate(use_cache=True)``
* ours, no cache: ``groundup.generate.generate(use_cache=False)`` (full forward per token)
* transformers, cache / no cache: ``GPT2LMHeadModel.generate(use_cache=...)`` with the
  same weights (loaded through ``save_pretrained`` + ``GPT.from_hf``).

Reported: new tokens per second (the prompt's prefill included, as a user waits for it),
the cache speed-up (cache / no cache), ours / transformers, and the time of the prefill
and of one decode step. These machines change speed between runs: read the ratios.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import torch

from groundup.generate import generate
from groundup.gpt import GPT, GPTConfig


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds of ``repeats`` calls of fn (after one untimed warm-up) and its last output."""
    out = fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def build(layers: int, dtype: torch.dtype, device: str, folder: str):
    """Our GPT and transformers' GPT2LMHeadModel holding the same weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=layers, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
    hf = GPT2LMHeadModel(cfg).eval()
    hf.save_pretrained(folder)
    ours = GPT.from_hf(folder).to(device=device, dtype=dtype).eval()
    hf = hf.to(device=device, dtype=dtype).eval()
    return ours, hf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0 = PyTorch's default)")
    ap.add_argument("--layers", type=int, default=12, help="GPT-2 small has 12")
    ap.add_argument("--prompt", type=int, default=16, help="prompt length in tokens")
    ap.add_argument("--new", type=int, default=200, help="new tokens to generate")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of the cached sides (median)")
    ap.add_argument("--repeats-uncached", type=int, default=1, help="timed runs of the uncached sides")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device, dtype = args.device, getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as folder:
        ours, hf = build(args.layers, dtype, device, folder)
    idx = torch.randint(0, 50257, (args.batch, args.prompt), generator=torch.Generator().manual_seed(0)).to(device)
    n = args.new
    hf_kw = dict(attention_mask=torch.ones_like(idx), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                 pad_token_id=0, eos_token_id=None)

    sides = {
        "ours, cache": (lambda: generate(ours, idx, n, temperature=0, use_cache=True), args.repeats),
        "ours, no cache": (lambda: generate(ours, idx, n, temperature=0, use_cache=False), args.repeats_uncached),
        "transformers, cache": (lambda: hf.generate(idx, use_cache=True, **hf_kw), args.repeats),
        "transformers, no cache": (lambda: hf.generate(idx, use_cache=False, **hf_kw), args.repeats_uncached),
    }
    seconds, outputs = {}, {}
    with torch.no_grad():
        for name, (fn, repeats) in sides.items():
            seconds[name], outputs[name] = timed(fn, device, repeats)
            print(f"  {name:24} {args.batch * n / seconds[name]:8.1f} new tokens/s  ({seconds[name]:.2f} s)", flush=True)
        same = all(torch.equal(outputs["ours, cache"].cpu(), o.cpu()) for o in outputs.values())
        prefill, _ = timed(lambda: ours(idx, last_only=True), device, args.repeats)
        from groundup.attention import KVCache

        def one_step():
            cache = KVCache(args.layers)
            ours(idx, cache=cache, last_only=True)
            _sync(device)
            t0 = time.perf_counter()
            ours(idx[:, -1:], cache=cache, last_only=True)
            _sync(device)
            return time.perf_counter() - t0

        decode = statistics.median(one_step() for _ in range(max(3, args.repeats)))

    tps = {k: args.batch * n / v for k, v in seconds.items()}
    where = (torch.cuda.get_device_name(device) if device.startswith("cuda")
             else f"{platform.machine()} CPU, {torch.get_num_threads()} threads")
    print(f"\nGPT-2 small shapes ({args.layers} layers, C=768, V=50257), {args.dtype}, {where}, torch {torch.__version__};"
          f" batch {args.batch}, prompt {args.prompt}, {n} new tokens, greedy")
    print("| side | new tokens/s | seconds |")
    print("|---|---|---|")
    for k in sides:
        print(f"| {k} | {tps[k]:.1f} | {seconds[k]:.2f} |")
    print(f"\ncache speed-up: ours {tps['ours, cache'] / tps['ours, no cache']:.2f}x, "
          f"transformers {tps['transformers, cache'] / tps['transformers, no cache']:.2f}x")
    print(f"ours / transformers: cache {tps['ours, cache'] / tps['transformers, cache']:.2f}, "
          f"no cache {tps['ours, no cache'] / tps['transformers, no cache']:.2f}")
    print(f"prefill of {args.prompt} tokens: {prefill * 1e3:.1f} ms; one decode step with the cache: {decode * 1e3:.1f} ms")
    print(f"all four sides produced the same tokens: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
