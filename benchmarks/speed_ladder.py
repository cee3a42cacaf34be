"""The speed ladder of Chapter 6: one training step of a GPT, faster rung by rung.

    python -m benchmarks.gpu_train --ladder          # GPU: GPT-2 124M, context 1,024 (gpu.sh runs it)
    OMP_NUM_THREADS=1 python -m benchmarks.gpu_train --ladder --cpu   # CPU: course-tiny, one thread
    ... --ladder --cpu --cpu-compile                                   # with torch.compile (slow to compile)
    python -m benchmarks.gpu_train --ladder --dry-run                 # the same code, tiny, seconds

Rungs, in build-nanogpt's order, each adding one change to the ones before it:

    fp32 baseline -> TF32 -> bf16 autocast -> torch.compile -> flash attention (SDPA)
    -> vocab padded to a multiple of 64 -> fused AdamW

The baseline writes attention out (scores, causal mask, softmax: ``fast=False`` on each
attention module; LayerNorm and GELU stay fused), keeps the data's vocabulary (50,257 for
GPT-2) and uses AdamW's default ``foreach``/for-loop update. The last rung is the library's
own settings (``TrainConfig.preset("gpt2-124m")``). ``GPT2LMHeadModel`` is then timed with
the last rung's settings (SDPA attention, same padded vocabulary, same batches) in the same run.

A rung that does not apply on a device (TF32 is a CUDA tensor-core mode) is skipped with
the reason. On CPU a rung that makes the step clearly slower (by more than 5%: bf16 autocast
on a CPU without bf16 instructions) is measured, reported, and then left out of the rungs
after it (``keep_slower=False``); on a GPU the ladder is strictly cumulative.

Per rung: median wall time of a step (forward, backward, clip, AdamW) over ``steps`` steps
after ``warmup`` (compilation happens in the warm-up), tokens/s = B*T / step time, and MFU
against the device's dense bf16 peak for every rung (so rungs compare on one scale; None
on CPU), with the FLOPs of the unpadded model (padding is not useful work).
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

RUNGS = (  # (name, the one setting it turns on)
    ("fp32 baseline", None),
    ("TF32", "tf32"),
    ("bf16 autocast", "bf16"),
    ("torch.compile", "compile"),
    ("flash attention (SDPA)", "flash"),
    ("vocab padded to a multiple of 64", "pad_vocab"),
    ("fused AdamW", "fused"),
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one rung runs with; every field False is the baseline."""

    tf32: bool = False  # TF32 matmuls (CUDA, Ampere+)
    bf16: bool = False  # torch.autocast to bfloat16
    compile: bool = False  # torch.compile the model
    flash: bool = False  # SDPA (flash) attention instead of the written-out softmax
    pad_vocab: bool = False  # vocabulary rounded up to a multiple of 64
    fused: bool = False  # AdamW's fused kernel


@dataclasses.dataclass(frozen=True)
class LadderSize:
    """The model and batch the ladder times."""

    n_layer: int
    n_head: int
    n_embd: int
    block_size: int  # context T
    vocab_size: int  # the data's vocabulary, before padding
    batch_size: int  # B sequences per step


SIZES = {
    "gpt2": LadderSize(12, 12, 768, 1024, 50257, 16),  # GPT-2 124M, as in build-nanogpt (B=16 fits fp32 too)
    "cpu": LadderSize(4, 4, 128, 64, 110, 12),  # cpu-tiny: nanoGPT's CPU recipe on the built-in corpus (V=110)
    "dry-run": LadderSize(2, 4, 64, 64, 100, 2),
}


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def _not_applicable(setting: str | None, device: str, dry_run: bool, cpu_compile: bool) -> str | None:
    """Why a rung is skipped on this device, or None when it applies."""
    if setting == "tf32" and not device.startswith("cuda"):
        return "skipped: TF32 is a mode of CUDA tensor cores; CPU matmuls are fp32 either way"
    if setting == "compile":
        if dry_run:
            return "skipped in --dry-run: compiling would take longer than the rest of the test"
        if not device.startswith("cuda") and shutil.which(os.environ.get("CXX", "g++")) is None:
            return "skipped: torch.compile on CPU needs a C++ compiler (g++), and none is installed"
        if not device.startswith("cuda") and not cpu_compile:
            return ("skipped on CPU unless --cpu-compile: on the shared 2-core machine this ladder was made on, "
                    "compiling the model (inductor's C++ kernels, forward and backward) had not finished after "
                    "10 minutes, longer than all the other rungs together")
    return None


# The last model built, kept so that the fused-AdamW rung (which changes only the optimizer)
# reuses the model compiled for the rung before it instead of compiling it again.
_last: dict = {}


def _release(device: str) -> None:
    """Drop the kept model; reset torch.compile's caches if it was compiled."""
    compiled = _last.get("key", (None, Settings()))[1].compile
    _last.clear()
    if compiled:
        torch._dynamo.reset()  # a fresh cache for the next model: no recompilation limits hit
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _build(kind: str, size: LadderSize, s: Settings, device: str, keep: bool = True):
    """(model, optimizer, loss_fn) for ``kind`` "ours" or "GPT2LMHeadModel" with settings ``s``;
    ``keep``: through the one-model cache ``_last`` (one configuration at a time)."""
    from groundup.train import TrainConfig, param_groups

    V = -(-size.vocab_size // 64) * 64 if s.pad_vocab else size.vocab_size
    if keep:
        key = (kind, dataclasses.replace(s, fused=False))
        if _last.get("key") != key:
            _release(device)
            model = _model(kind, size, s, device, V)
            _last.update(key=key, model=model, net=torch.compile(model) if s.compile else model)
        model, net = _last["model"], _last["net"]
    else:
        model = _model(kind, size, s, device, V)
        net = torch.compile(model) if s.compile else model
    tcfg = TrainConfig(lr=6e-4, beta2=0.95, weight_decay=0.1)  # GPT-3's settings for a 125M model
    opt = torch.optim.AdamW(param_groups(model, tcfg.weight_decay), lr=tcfg.lr, betas=(tcfg.beta1, tcfg.beta2),
                            fused=True if s.fused else None)  # None: PyTorch's default (foreach on CUDA)

    def loss_fn(x, y):
        if kind == "ours":
            return net(x, y)[1]
        logits = net(input_ids=x).logits  # (B, T, V)
        return F.cross_entropy(logits.view(-1, V).float(), y.reshape(-1))

    return model, opt, loss_fn


def _model(kind: str, size: LadderSize, s: Settings, device: str, V: int) -> torch.nn.Module:
    from groundup.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    if kind == "ours":
        model = GPT(GPTConfig(block_size=size.block_size, vocab_size=V, n_layer=size.n_layer,
                              n_head=size.n_head, n_embd=size.n_embd)).to(device)
        for block in model.transformer.h:
            block.attn.fast = s.flash  # False: scores, mask and softmax written out (Chapter 3)
    else:
        from transformers import GPT2Config, GPT2LMHeadModel

        model = GPT2LMHeadModel(GPT2Config(
            n_positions=size.block_size, vocab_size=V, n_layer=size.n_layer, n_head=size.n_head, n_embd=size.n_embd,
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
            attn_implementation="sdpa" if s.flash else "eager")).to(device)
        model.train()
    return model


def time_steps(configs: list[tuple[str, Settings]], size: LadderSize, device: str, steps: int, warmup: int,
               max_s: float = float("inf")) -> list[dict]:
    """Median time of a training step for each (kind, settings) in ``configs``: ``steps``
    steps each after ``warmup``, or fewer (at least 5) once the timed steps pass ``max_s``
    seconds. Several configurations take their steps in turn (A, B, A, B, ...), so that on a
    shared machine they see the same load and the ratio of their times is fair."""
    cuda = device.startswith("cuda")
    alone = len(configs) == 1
    runs = [(kind, s, *_build(kind, size, s, device, keep=alone)) for kind, s in configs]
    gen = torch.Generator().manual_seed(1)
    B, T = size.batch_size, size.block_size
    batches = [torch.randint(0, size.vocab_size, (2, B, T), generator=gen).to(device) for _ in range(4)]
    device_type = device.split(":")[0]
    # per configuration: wall times; CPU times of this process (less moved by other jobs on a shared CPU)
    times, cpu_times = [[] for _ in runs], [[] for _ in runs]
    warm, losses = [0.0] * len(runs), [0.0] * len(runs)
    t_timed = None
    for i in range(warmup + steps):
        if t_timed is not None and len(times[0]) >= 5 and time.perf_counter() - t_timed > max_s:
            break  # a slow rung (bf16 emulated on a CPU without bf16 instructions) need not run all steps
        x, y = batches[i % len(batches)]
        for j, (kind, s, model, opt, loss_fn) in enumerate(runs):
            if cuda:
                torch.backends.cuda.matmul.allow_tf32 = s.tf32
                torch.backends.cudnn.allow_tf32 = s.tf32
            t0, c0 = time.perf_counter(), time.process_time()
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=s.bf16):
                loss = loss_fn(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize()  # time the GPU's work, not the launch queue
            if i >= warmup:
                times[j].append(time.perf_counter() - t0)
                cpu_times[j].append(time.process_time() - c0)
            else:
                warm[j] += time.perf_counter() - t0  # includes compilation
            losses[j] = loss.item()
        if i == warmup - 1:
            t_timed = time.perf_counter()
    from groundup.gpt import GPT, GPTConfig

    with torch.device("meta"):  # useful FLOPs: the unpadded model's
        flops_tok = GPT(GPTConfig(block_size=T, vocab_size=size.vocab_size, n_layer=size.n_layer,
                                  n_head=size.n_head, n_embd=size.n_embd)).flops_per_token(T)
    out = [{"timed_steps": len(t), "ms_per_step": 1e3 * statistics.median(t),
            "cpu_ms_per_step": 1e3 * statistics.median(c), "loss": lo, "warmup_s": w, "flops_per_token": flops_tok}
           for t, c, lo, w in zip(times, cpu_times, losses, warm)]
    if cuda:
        out[-1]["peak_mem_gb"] = torch.cuda.max_memory_allocated() / 1e9
        torch.cuda.reset_peak_memory_stats()
    del runs, loss
    if cuda:
        torch.cuda.empty_cache()  # the optimizer's state; a kept model stays in _last for the next rung
    return out


def _row(name: str, m: dict, B: int, T: int, peak: float | None, note: str, cpu: bool) -> dict:
    from groundup.train import mfu

    tok_s = B * T / (m["ms_per_step"] / 1e3)
    row = {"name": name, "ms_per_step": round(m["ms_per_step"], 3), "tokens_per_s": round(tok_s, 1),
           "mfu": None if peak is None else round(mfu(m["flops_per_token"], tok_s, peak), 4), "note": note}
    if cpu:  # on a shared CPU the process's own CPU time is the steadier figure
        row["cpu_ms_per_step"] = round(m["cpu_ms_per_step"], 3)
    return row


def ladder(device: str, size_name: str, *, steps: int, warmup: int, out: Path | None = None,
           machine: str = "", budget_s: float = float("inf"), dry_run: bool = False,
           keep_slower: bool | None = None, rung_s: float = float("inf"), cpu_compile: bool = False,
           interleave: bool | None = None) -> dict:
    """Time every rung, then GPT2LMHeadModel with the last settings; write the JSON after each.

    ``interleave`` (default: on CPU): each rung takes its steps in turn with the settings
    before it, and the reference with the last settings kept, so every ratio is measured at
    the same time; on a GPU (a device of its own) each configuration runs alone."""
    from groundup.train import device_peak_flops

    t_start = time.perf_counter()
    size = SIZES[size_name]
    cuda = device.startswith("cuda")
    keep_slower = cuda if keep_slower is None else keep_slower
    interleave = not cuda if interleave is None else interleave
    peak = device_peak_flops(device)
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {
        "device": device_name(device), "machine": machine, "torch": torch.__version__.split("+")[0],
        "date": datetime.date.today().isoformat(),
        "model": {"n_layer": size.n_layer, "n_head": size.n_head, "n_embd": size.n_embd,
                  "block_size": size.block_size, "vocab_size": size.vocab_size, "batch_size": size.batch_size},
        "rungs": [], "reference": None,  # the reference runs with the settings of the last rung kept
        "settings": {"steps": steps, "warmup": warmup, "rung_s": rung_s, "torch_threads": torch.get_num_threads(),
                     "peak_flops": peak, "keep_slower": keep_slower, "interleave": interleave,
                     "load_average_start": load0},
    }

    def write():
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1) + "\n")

    # On CPU rungs are compared by CPU time (steadier on a shared machine), on a GPU by wall time.
    key = "ms_per_step" if cuda else "cpu_ms_per_step"
    s, best, kept = Settings(), None, None  # settings so far; their step time; the rung that set them
    for name, setting in RUNGS:
        trial = s if setting is None else dataclasses.replace(s, **{setting: True})
        why = _not_applicable(setting, device, dry_run, cpu_compile)
        if why is None and time.perf_counter() - t_start > budget_s:
            why = f"skipped: the ladder's time budget ({budget_s:.0f} s) was spent"
        if why is not None:
            result["rungs"].append({"name": name, "ms_per_step": None, "tokens_per_s": None, "mfu": None, "note": why})
            write()
            continue
        print(f"[ladder {time.perf_counter() - t_start:6.1f} s] {name} ...", flush=True)
        try:
            if interleave and best is not None:  # (settings before, this rung's), step by step
                before, m = time_steps([("ours", s), ("ours", trial)], size, device, steps, warmup, rung_s)
                base = before[key]
            else:
                (m,), base = time_steps([("ours", trial)], size, device, steps, warmup, rung_s), best
        except Exception as e:  # record and go on: a failing rung should not hide the others
            result["rungs"].append({"name": name, "ms_per_step": None, "tokens_per_s": None, "mfu": None,
                                    "note": f"failed: {type(e).__name__}: {str(e)[:300]}"})
            write()
            continue
        note = f"{m['timed_steps']} steps timed after {warmup} of warm-up ({m['warmup_s']:.1f} s" + (
            ", incl. compilation)" if trial.compile else ")")
        if base is not None:
            note += f"; {base / m[key]:.2f}x the speed of the settings before" + (
                " (CPU time, measured step by step in turn with them)" if interleave else "")
        # Left out only when clearly slower: a rung within 5% of the settings before is noise here.
        if best is None or m[key] <= 1.05 * base or keep_slower:
            s, best, kept = trial, m[key], name
        else:
            note += "; slower, so the rungs after it leave it out"
        result["rungs"].append(_row(name, m, size.batch_size, size.block_size, peak, note, not cuda))
        write()
    if time.perf_counter() - t_start <= budget_s:
        print(f"[ladder {time.perf_counter() - t_start:6.1f} s] GPT2LMHeadModel ...", flush=True)
        try:
            ref = dataclasses.replace(s, flash=True)  # HF's SDPA path is its fast attention
            if interleave:  # ours with the last settings kept, in turn with the reference
                ours, m = time_steps([("ours", s), ("GPT2LMHeadModel", ref)], size, device, steps, warmup, rung_s)
                result["reference_ours_same_run"] = _row("ours", ours, size.batch_size, size.block_size, peak,
                                                         f"settings of '{kept}', in turn with the reference",
                                                         not cuda)
            else:
                (m,) = time_steps([("GPT2LMHeadModel", ref)], size, device, steps, warmup, rung_s)
            row = _row("GPT2LMHeadModel", m, size.batch_size, size.block_size, peak, "", not cuda)
            result["reference"] = {k: v for k, v in row.items() if k != "note"}
            result["reference"]["settings"] = dataclasses.asdict(ref)
        except Exception as e:
            result["reference_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    _release(device)
    result["settings"]["final"] = dataclasses.asdict(s)
    result["settings"]["final_rung"] = kept  # the rung whose settings the reference ran with
    result["settings"]["load_average_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result["settings"]["seconds"] = round(time.perf_counter() - t_start, 1)
    write()
    return result


def table(result: dict) -> str:
    """The ladder as a markdown table."""
    lines = [f"Speed ladder on {result['device']} ({result['machine']}), torch {result['torch']}, "
             f"{result['date']}: {result['model']}", "",
             "| rung | ms/step | tokens/s | MFU | note |", "|---|---|---|---|---|"]
    rows = list(result["rungs"]) + ([dict(result["reference"], note="same settings as the last rung")]
                                    if result["reference"] else [])
    for r in rows:
        ms = "-" if r["ms_per_step"] is None else f"{r['ms_per_step']:.1f}"
        tok = "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:,.0f}"
        mfu_ = "n/a" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
        lines.append(f"| {r['name']} | {ms} | {tok} | {mfu_} | {r['note']} |")
    last = next((r for r in result["rungs"] if r["name"] == result["settings"].get("final_rung")), None)
    same = result.get("reference_ours_same_run")  # ours timed in turn with the reference (CPU)
    if last and result["reference"]:
        ref = result["reference"]
        ratio = f"{(same or last)['tokens_per_s'] / ref['tokens_per_s']:.2f}"
        if same:  # CPU: also by CPU time, the steadier figure on a shared machine
            ratio += f" wall, {ref['cpu_ms_per_step'] / same['cpu_ms_per_step']:.2f} CPU time (in turn, same run)"
        lines += ["", f"ours (settings of '{last['name']}', the last rung kept) / GPT2LMHeadModel tokens/s: {ratio}"]
    return "\n".join(lines)
