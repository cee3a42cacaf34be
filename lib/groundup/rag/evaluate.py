"""Measuring a RAG system, and its failure modes (Chapter 13).

Per answer: did retrieval find the gold passage (recall@k), is the answer right (exact
match, or the gold inside it), and does it cite the gold passage (citation correctness).
Over the offline world, with the course reader:

* closed-book vs RAG vs a wrong passage, and *hallucination as a function of retrieval
  recall*: a retriever that finds the gold passage with probability r;
* lost in the middle (Liu et al. 2023): accuracy against the gold passage's position;
* context overflow: more passages than the window holds, cut from the left (as a sliding
  window cuts) or packed best-first (``pack_passages``);
* chunk boundaries: fixed word windows that cut a fact in two;
* the latency budget of one answer: embed, search, prefill, decode.
"""
from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from groundup.rag.prompt import build_prompt, normalize, parse_answer
from groundup.rag.reader import Reader, greedy_answers
from groundup.rag.world import RELATIONS, Question, World

__all__ = ["exact_match", "contains_gold", "citation_correct", "recall_at_k", "Scores", "score_answers",
           "near_misses", "accuracy_by_condition", "hallucination_vs_recall", "lost_in_the_middle",
           "context_overflow", "chunk_boundaries", "pipeline_scores", "latency_budget"]


def exact_match(pred: str, gold: str) -> bool:
    """Equal after lower-casing and dropping punctuation (SQuAD's normalisation, less articles).

    >>> exact_match("Port  karst.", "Port Karst")
    True
    """
    return normalize(pred) == normalize(gold)


def contains_gold(pred: str, gold: str) -> bool:
    """The gold answer's words appear, in order and whole, in the prediction.

    >>> contains_gold("born in Port Karst, I think", "Port Karst"), contains_gold("Karst", "Port Karst")
    (True, False)
    """
    g, p = normalize(gold), normalize(pred)
    return bool(g) and any(p[i:i + len(g)] == g for i in range(len(p) - len(g) + 1))


def citation_correct(cited: Sequence[str], evidence: str) -> bool:
    """At least one cited passage contains the whole evidence sentence (by words)."""
    return any(contains_gold(c, evidence) for c in cited)


def recall_at_k(retrieved: Sequence[str], evidence: str, k: int | None = None) -> bool:
    """Is a passage containing the whole evidence among the first ``k`` retrieved?"""
    return any(contains_gold(p, evidence) for p in list(retrieved)[:k])


@dataclass(frozen=True)
class Scores:
    n: int  # questions
    accuracy: float  # exact match
    contains: float  # gold inside the answer
    hallucination: float  # fluent and wrong: a well-formed answer of the right kind that is not the gold
    citation: float  # the cited passage holds the evidence (over answers with passages; nan if none)


def score_answers(world: World, questions: Sequence[Question], outputs: Sequence[str],
                  contexts: Sequence[Sequence[str]]) -> Scores:
    """Score the reader's raw outputs (``answer [n]``) against the gold answers."""
    em = con = hal = cit = n_cit = 0
    for q, out, ctx in zip(questions, outputs, contexts):
        answer, numbers = parse_answer(out, len(ctx))
        right = exact_match(answer, q.answer)
        em += right
        con += contains_gold(answer, q.answer)
        hal += (not right) and answer in world.values(q.relation)
        if ctx:
            n_cit += 1
            cit += citation_correct([ctx[i - 1] for i in numbers], q.evidence)
    n = max(1, len(questions))
    return Scores(len(questions), em / n, con / n, hal / n, cit / n_cit if n_cit else float("nan"))


# ----------------------------------------------------------------------------- the offline experiments
def near_misses(world: World, q: Question, rng: random.Random, n: int) -> list[str]:
    """Passages a retriever confuses with the gold: the same fact about someone else, or
    another fact about the same person (half and half, at random)."""
    i = int(q.doc_id[1:])
    person = world.people[i]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            j = rng.choice([j for j in range(len(world.people)) if j != i])
            out.append(world.people[j].sentence(q.relation))
        else:
            out.append(person.sentence(rng.choice([r for r in RELATIONS if r != q.relation])))
    return out


def _wrong_passage(world: World, q: Question, rng: random.Random) -> str:
    """The same fact about someone else: the miss that reads most like an answer."""
    i = int(q.doc_id[1:])
    j = rng.choice([j for j in range(len(world.people)) if j != i])
    return world.people[j].sentence(q.relation)


def _run(reader: Reader, world: World, questions, contexts) -> Scores:
    outs = greedy_answers(reader, [build_prompt(q.text, c) for q, c in zip(questions, contexts)])
    return score_answers(world, questions, outs, contexts)


def accuracy_by_condition(reader: Reader, world: World, *, seed: int = 0) -> dict[str, Scores]:
    """Closed-book (no passage), RAG with the gold passage, and one wrong passage."""
    rng = random.Random(seed)
    qs = world.questions()
    return {
        "closed-book": _run(reader, world, qs, [[] for _ in qs]),
        "gold passage": _run(reader, world, qs, [[q.evidence] for q in qs]),
        "wrong passage": _run(reader, world, qs, [[_wrong_passage(world, q, rng)] for q in qs]),
    }


def hallucination_vs_recall(reader: Reader, world: World, recalls: Sequence[float], *, k: int = 1,
                            seed: int = 0) -> dict[float, Scores]:
    """A simulated retriever whose top ``k`` holds the gold passage with probability r
    (at a random rank), the rest near misses; the reader's scores at each r."""
    out = {}
    for r in recalls:
        rng = random.Random(seed)
        qs = world.questions()
        ctxs = []
        for q in qs:
            if rng.random() < r:
                ctx = near_misses(world, q, rng, k - 1)
                ctx.insert(rng.randrange(k), q.evidence)
            else:
                ctx = [_wrong_passage(world, q, rng)] + near_misses(world, q, rng, k - 1)
                rng.shuffle(ctx)
            ctxs.append(ctx)
        out[r] = _run(reader, world, qs, ctxs)
    return out


def lost_in_the_middle(reader: Reader, world: World, n_passages: int, *, seed: int = 0) -> list[Scores]:
    """Accuracy with the gold passage at position 1, 2, ..., n_passages among near misses
    (the same distractors at every position, as Liu et al. 2023 fix them)."""
    rng = random.Random(seed)
    qs = world.questions()
    distractors = [near_misses(world, q, rng, n_passages - 1) for q in qs]
    scores = []
    for pos in range(n_passages):
        ctxs = [d[:pos] + [q.evidence] + d[pos:] for q, d in zip(qs, distractors)]
        scores.append(_run(reader, world, qs, ctxs))
    return scores


def context_overflow(reader: Reader, world: World, ks: Sequence[int], ranked: dict[str, list[str]],
                     *, max_new_tokens: int = 5) -> dict[str, dict[int, float]]:
    """Accuracy as more retrieved passages (``ranked``: question id -> passages, best first)
    go into a window that cannot hold them all: cut from the left to the window's last
    tokens (a sliding window drops the *best* passages first), or packed best-first."""
    from groundup.rag.prompt import pack_passages

    tok = reader.tokenizer
    window = reader.model.config.block_size - max_new_tokens
    qs = world.questions()
    res: dict[str, dict[int, float]] = {"cut from the left": {}, "packed best-first": {}}
    for k in ks:
        cut_prompts, packed_prompts, packed_ctx = [], [], []
        for q in qs:
            ctx = ranked[q.qid][:k]
            ids = tok.encode(build_prompt(q.text, ctx))[-window:]  # what a sliding window keeps
            cut_prompts.append(tok.decode(ids))
            bare = len(tok.encode(build_prompt(q.text, [])))
            kept = pack_passages(ctx, window - bare, lambda s: len(tok.encode(s)) + 1)
            packed_prompts.append(build_prompt(q.text, kept))
            packed_ctx.append(kept)
        for name, prompts in (("cut from the left", cut_prompts), ("packed best-first", packed_prompts)):
            outs = greedy_answers(reader, prompts, max_new_tokens)
            res[name][k] = sum(exact_match(parse_answer(o)[0], q.answer) for o, q in zip(outs, qs)) / len(qs)
    return res


def chunk_boundaries(reader: Reader, world: World, chunkers: dict, make_retriever) -> dict[str, dict[str, float]]:
    """Chunk the documents each way (``chunkers``: name -> text -> chunks), retrieve the top
    chunk for every question with a fresh ``make_retriever()``, and read it. Per chunker:
    chunks per document, recall@1 of a chunk holding the whole evidence sentence, accuracy."""
    qs = world.questions()
    out = {}
    for name, chunk in chunkers.items():
        texts = {f"{d}#{j}": c for d, t in world.corpus().items() for j, c in enumerate(chunk(t))}
        retriever = make_retriever()
        retriever.index(list(texts), list(texts.values()))
        top = [texts[h[0][0]] if h else "" for h in retriever.search([q.text for q in qs], k=1)]
        fits = [c if len(reader.encode(build_prompt(q.text, [c]))) + 5 <= reader.model.config.block_size else ""
                for q, c in zip(qs, top)]
        outs = greedy_answers(reader, [build_prompt(q.text, [c] if c else []) for q, c in zip(qs, fits)])
        out[name] = {
            "chunks per document": len(texts) / len(world.people),
            "recall@1": sum(recall_at_k([c], q.evidence) for q, c in zip(qs, top)) / len(qs),
            "accuracy": sum(exact_match(parse_answer(o)[0], q.answer) for o, q in zip(outs, qs)) / len(qs),
        }
    return out


def pipeline_scores(pipeline, world: World, questions: Sequence[Question] | None = None) -> dict[str, float]:
    """Ask the pipeline every question: recall of the gold passage among the passages in the
    prompt, exact match, citation correctness, supported answers; accuracy split by whether
    retrieval found the gold passage (a miss is where hallucinations come from)."""
    qs = list(questions) if questions is not None else world.questions()
    hit_right = hit_n = miss_right = miss_n = cite = supported = em = 0
    for q in qs:
        a = pipeline.ask(q.text)
        found = recall_at_k([p.text for p in a.passages], q.evidence)
        right = exact_match(a.answer, q.answer)
        em += right
        cite += citation_correct([p.text for p in a.cited], q.evidence)
        supported += a.supported
        if found:
            hit_n, hit_right = hit_n + 1, hit_right + right
        else:
            miss_n, miss_right = miss_n + 1, miss_right + right
    n = len(qs)
    return {"recall": hit_n / n, "exact match": em / n, "citation correct": cite / n, "supported": supported / n,
            "accuracy when retrieved": hit_right / hit_n if hit_n else float("nan"),
            "accuracy when missed": miss_right / miss_n if miss_n else float("nan")}


def latency_budget(pipeline, question: str, *, embed=None, repeats: int = 5) -> dict[str, float]:
    """Seconds of each stage of one answer (median of ``repeats``): embedding the question
    (``embed``: a function of a list of texts, e.g. MiniLM; 0 if None), searching, the
    generator's prefill and its per-token decode (KV-cached, Chapter 7's ``step_times``)."""
    from statistics import median

    from groundup.generate import step_times

    timings: dict[str, list[float]] = {"embed": [], "search": [], "prefill": [], "decode (per token)": []}
    gen = pipeline.generator
    for _ in range(repeats):
        t0 = time.perf_counter()
        if embed is not None:
            embed([question])
        t1 = time.perf_counter()
        passages = pipeline.retrieve(question)
        t2 = time.perf_counter()
        prompt = build_prompt(question, [p.text for p in passages], instruction=gen.instruction)
        ids = torch.tensor([gen.reader.encode(prompt)])
        steps = step_times(gen.reader.model, ids, pipeline.max_new_tokens)
        timings["embed"].append(t1 - t0)
        timings["search"].append(t2 - t1)
        timings["prefill"].append(steps[0])
        timings["decode (per token)"].append(sum(steps[1:]) / max(1, len(steps) - 1))
    return {k: median(v) for k, v in timings.items()}
