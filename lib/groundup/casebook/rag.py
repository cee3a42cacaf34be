"""Case family 6: a hallucination traced to a retrieval miss (Chapter 13).

The symptom: a RAG system over an invented world (Chapter 13's people, whose facts no
model can know) answers a third of its questions fluently and wrongly: an answer of the
right kind ("a baker", "Port Dunmor") that is not the person's. The reader is Chapter
13's course reader, which answers from the passage it is given.

The measurement: for every question, whether the retriever put the gold passage in the
reader's context, and whether the answer was right; the hallucinations split by hit and
miss. Nearly all of them are misses: the reader is faithful to a wrong passage. The
root cause is in Chapter 11's BM25: "what animal does Zanilo keep ?" shares only the
name with "Zanilo keeps a newt ." (``keep`` is not ``keeps``; ``what``, ``does`` and ``a``
are stop words), so Zanilo's facts tie on the name and another one can come first:
vocabulary mismatch. The fix: Chapter 12's hybrid retriever, which fuses BM25 with
MiniLM's dense ranking (reciprocal rank fusion): the dense side matches ``keep`` to
``keeps``. (A stemmer in BM25's analyzer would fix this particular mismatch too; a
paraphrase it would not.) The verification: the same questions, the same reader, the
hallucination rate before and after.
"""

from __future__ import annotations

from groundup.casebook.base import CaseResult, check_size

__all__ = ["answer_with", "case_rag_miss"]


def answer_with(retriever, world, reader, k: int = 1) -> dict:
    """Index the world's passages (one fact each), retrieve k for every question, let the
    reader answer; per question: retrieved ids, hit (gold among them), the answer, right, hallucinated."""
    from groundup.rag.evaluate import exact_match
    from groundup.rag.prompt import build_prompt, parse_answer
    from groundup.rag.reader import greedy_answers

    passages = world.passages()
    retriever.index(list(passages), list(passages.values()))
    qs = world.questions()
    hits = retriever.search([q.text for q in qs], k)
    contexts = [[passages[pid] for pid, _ in h] for h in hits]
    outs = greedy_answers(reader, [build_prompt(q.text, c) for q, c in zip(qs, contexts)])
    rows = []
    for q, ctx, out in zip(qs, contexts, outs):
        answer, _ = parse_answer(out, len(ctx))
        right = exact_match(answer, q.answer)
        rows.append({"question": q.text, "relation": q.relation, "hit": q.evidence in ctx, "answer": answer,
                     "gold": q.answer, "right": right,
                     "hallucinated": (not right) and answer in world.values(q.relation), "context": ctx})
    n = len(rows)
    by = lambda key, cond: sum(r[key] for r in rows if cond(r))  # noqa: E731
    misses = [r for r in rows if not r["hit"]]
    return {"rows": rows, "recall": by("hit", lambda r: True) / n, "accuracy": by("right", lambda r: True) / n,
            "hallucination": by("hallucinated", lambda r: True) / n,
            "hallucinations_on_misses": by("hallucinated", lambda r: not r["hit"]) / max(1, by("hallucinated", lambda r: True)),
            "recall_by_relation": {rel: sum(r["hit"] for r in rows if r["relation"] == rel)
                                   / max(1, sum(r["relation"] == rel for r in rows))
                                   for rel in sorted({r["relation"] for r in rows})},
            "n_misses": len(misses)}


def case_rag_miss(size: str = "small") -> CaseResult:
    """Hallucination rate with BM25 (fault) vs the hybrid BM25 + dense retriever (fix), k = 1."""
    from groundup.rag.reader import ReaderConfig, train_reader
    from groundup.rag.world import WorldConfig, make_world
    from groundup.retrieval.bm25 import BM25
    from groundup.retrieval.hybrid import HybridRetriever

    check_size(size)
    n_people = {"tiny": 20, "small": 60, "full": 200}[size]
    reader = train_reader(ReaderConfig())  # Chapter 13's reader: trained once, cached
    world = make_world(WorldConfig(n_people=n_people, seed=1))  # a world the reader never saw
    before = answer_with(BM25(), world, reader)
    after = answer_with(HybridRetriever(), world, reader)
    example = next((r for r in before["rows"] if r["hallucinated"]), None)
    return CaseResult(
        "rag-miss", "share of answers that are fluent and wrong (hallucinated)", before["hallucination"],
        after["hallucination"], False,
        cause="BM25 missed the gold passage (the question's words differ from the passage's but for the name), "
              "and the reader answered faithfully from the wrong one",
        fix="the hybrid retriever: BM25 fused with MiniLM's dense ranking by reciprocal rank fusion",
        details={"before": {k: v for k, v in before.items() if k != "rows"},
                 "after": {k: v for k, v in after.items() if k != "rows"}, "example": example,
                 "n_questions": len(before["rows"])})
