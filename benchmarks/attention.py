"""Written-out attention vs PyTorch's fused kernel: time and memory.

    python -m benchmarks.attention                 # T = 1024 and 4096, on CUDA if present
    python -m benchmarks.attention --device cpu --T 1024 --repeats 3

Both sides run in this one process on the same inputs, interleaved, and the ratio
is reported (these machines change speed between runs, so compare ratios, not
absolute times). Case: B=1, nh=12, hs=64 (GPT-2 small's heads), causal, fp32 unless
``--dtype`` says otherwise; "fwd" is a forward pass without autograd, "fwd+bwd" is a
forward and a backward of y.sum().

* ours: ``groundup.attention.scaled_dot_product_attention`` with ``causal_mask(T)``:
  it materialises the (B, nh, T, T) score and weight matrices.
* fast: ``groundup.attention.sdpa_fast(..., is_causal=True)`` =
  ``torch.nn.functional.scaled_dot_product_attention`` (flash attention: it works on
  tiles and never stores the full matrix).

Memory, three ways:

1. analytic: one fp32 (B, nh, T, T) matrix is B*nh*T*T*4 bytes;
2. saved for backward: the bytes of the distinct tensors autograd saves during the
   forward (counted with ``torch.autograd.graph.saved_tensors_hooks``), fwd+bwd only;
3. peak growth: on CUDA ``torch.cuda.max_memory_allocated`` minus the memory in use
   before the call; on CPU the growth of the process's peak resident set (Linux
   VmHWM from /proc/self/status, reset through /proc/self/clear_refs before each
   call) above its resident set before the call. It includes allocator slack and
   any buffers PyTorch keeps, so read it as an upper bound.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from groundup.attention import causal_mask, scaled_dot_product_attention, sdpa_fast

MiB = 2**20


# ---------------------------------------------------------------------------
# Memory probes
# ---------------------------------------------------------------------------


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux: reset VmHWM to the current resident set
        return True
    except OSError:
        return False


def peak_growth_bytes(fn, device: str) -> float | None:
    """Run fn() once and return how far memory rose above where it started (bytes), or None."""
    if device == "cuda":
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return float(torch.cuda.max_memory_allocated() - before)
    if not _reset_peak_rss():
        return None
    before = _proc_status_kib("VmRSS")
    fn()
    peak = _proc_status_kib("VmHWM")
    return None if before is None or peak is None else float(peak - before) * 1024


def saved_for_backward_bytes(fn) -> int:
    """Bytes of the distinct tensors autograd saves while fn() runs its forward."""
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor):
        key = (t.untyped_storage().data_ptr(), t.device.index or 0)
        seen[key] = max(seen.get(key, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())


# ---------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------


def make_inputs(B, nh, T, hs, device, dtype, grad):
    g = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(B, nh, T, hs, generator=g).to(device, dtype).requires_grad_(grad) for _ in range(3))
    return q, k, v


def ours_fn(q, k, v, mask):
    return scaled_dot_product_attention(q, k, v, mask)


def fast_fn(q, k, v, mask):
    return sdpa_fast(q, k, v, is_causal=True)


def one_call(fn, q, k, v, mask, backward: bool):
    if backward:
        for t in (q, k, v):
            t.grad = None
        fn(q, k, v, mask).sum().backward()
    else:
        with torch.no_grad():
            fn(q, k, v, mask)


def timed(fn, q, k, v, mask, backward, device) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    one_call(fn, q, k, v, mask, backward)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_case(B, nh, T, hs, device, dtype, backward, repeats) -> dict:
    q, k, v = make_inputs(B, nh, T, hs, device, dtype, grad=backward)
    mask = causal_mask(T, device)  # (T, T), built once outside the timing
    sides = {"ours": ours_fn, "fast": fast_fn}

    # Agreement first (and a warm-up for both).
    with torch.no_grad():
        diff = (ours_fn(q, k, v, mask) - fast_fn(q, k, v, mask)).abs().max().item()
    for fn in sides.values():
        one_call(fn, q, k, v, mask, backward)

    times = {name: [] for name in sides}
    for _ in range(repeats):  # interleaved, so a change of machine speed hits both sides
        for name, fn in sides.items():
            times[name].append(timed(fn, q, k, v, mask, backward, device))
    peak = {name: peak_growth_bytes(lambda fn=fn: one_call(fn, q, k, v, mask, backward), device) for name, fn in sides.items()}
    saved = {}
    if backward:
        saved = {name: saved_for_backward_bytes(lambda fn=fn: fn(q, k, v, mask)) for name, fn in sides.items()}
    return dict(
        T=T,
        mode="fwd+bwd" if backward else "fwd",
        time={n: statistics.median(t) for n, t in times.items()},
        peak=peak,
        saved=saved,
        matrix=B * nh * T * T * torch.finfo(dtype).bits // 8,
        max_abs_diff=diff,
    )


def _mib(x) -> str:
    return "n/a" if x is None else f"{x / MiB:,.0f}"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--T", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--B", type=int, default=1)
    parser.add_argument("--nh", type=int, default=12)
    parser.add_argument("--hs", type=int, default=64)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    dtype = getattr(torch, args.dtype)

    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# Attention: written-out vs F.scaled_dot_product_attention ({where}, torch {torch.__version__}, {args.dtype})")
    print(f"B={args.B}, nh={args.nh}, hs={args.hs}, causal; median of {args.repeats} interleaved runs\n")
    print("| T | pass | ours (s) | fast (s) | ours/fast | one (B,nh,T,T) matrix (MiB) | saved for bwd ours / fast (MiB) "
          "| peak growth ours / fast (MiB) | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for T in args.T:
        for backward in (False, True):
            r = bench_case(args.B, args.nh, T, args.hs, args.device, dtype, backward, args.repeats)
            rows.append(r)
            t = r["time"]
            saved = f"{_mib(r['saved']['ours'])} / {_mib(r['saved']['fast'])}" if r["saved"] else "-"
            print(
                f"| {T:,} | {r['mode']} | {t['ours']:.3f} | {t['fast']:.3f} | {t['ours'] / t['fast']:.1f}x "
                f"| {_mib(r['matrix'])} | {saved} | {_mib(r['peak']['ours'])} / {_mib(r['peak']['fast'])} "
                f"| {r['max_abs_diff']:.1e} |",
                flush=True,
            )
    mem = "torch.cuda.max_memory_allocated" if args.device == "cuda" else "growth of peak RSS (VmHWM, reset per call)"
    print(f"\npeak growth: {mem}; saved for bwd: distinct tensors kept by autograd.")
    return rows


if __name__ == "__main__":
    main()
