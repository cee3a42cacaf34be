"""Chapter 13: retrieval-augmented generation (groundup.rag)."""
from __future__ import annotations

import doctest
import itertools
import math
import random

import pytest
import torch

from groundup.rag import evaluate, marginal, pipeline, prompt, world
from groundup.rag.marginal import (passage_log_posterior, rag_sequence_logprob, rag_sequence_naive,
                                   rag_token_logprob, rag_token_naive)
from groundup.rag.prompt import build_prompt, is_supported, pack_passages, parse_answer
from groundup.rag.world import RELATIONS, WorldConfig, WorldTokenizer, make_world


@pytest.mark.parametrize("module", [world, prompt, pipeline, evaluate, marginal])
def test_docstring_examples_run(module):
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0


# ----------------------------------------------------------------------------- the world
def test_the_world_is_deterministic_and_every_question_has_its_evidence():
    a, b = make_world(WorldConfig(n_people=50, seed=3)), make_world(WorldConfig(n_people=50, seed=3))
    assert a.documents() == b.documents()
    assert make_world(WorldConfig(n_people=50, seed=4)).documents() != a.documents()
    qs = a.questions()
    assert len(qs) == 50 * len(RELATIONS)
    corpus = a.corpus()
    for q in qs:
        assert q.evidence in corpus[q.doc_id] and q.answer in q.evidence
        assert q.answer in a.values(q.relation)
    assert len({p.name for p in a.people}) == 50


def test_world_config_errors_name_the_limits():
    with pytest.raises(ValueError, match="n_values"):
        make_world(WorldConfig(n_values=1))
    with pytest.raises(ValueError, match="n_people"):
        make_world(WorldConfig(n_people=10_000))


def test_the_tokenizer_covers_the_world_and_marks_the_rest_unknown():
    tok = WorldTokenizer()
    w = make_world(WorldConfig(n_values=12, n_people=300))
    for text in w.documents() + [q.text for q in w.questions()]:
        ids = tok.encode(text)
        assert tok.unk_id not in ids and tok.decode(ids) == " ".join(text.split())
    assert tok.encode("what is a monad ?")[2:4] == [tok.stoi["a"], tok.unk_id]
    assert tok.encode(build_prompt("who ?", ["x"] * 3)).count(tok.stoi["[3]"]) == 1


# ----------------------------------------------------------------------------- prompt and citations
def test_build_prompt_numbers_passages_from_one_in_rank_order():
    p = build_prompt("where was Velmora born ?", ["first  passage .", "second\npassage ."], instruction="Be brief.")
    assert p.splitlines() == ["Be brief.", "[1] first passage .", "[2] second passage .",
                              "question : where was Velmora born ?", "answer :"]
    assert build_prompt("q ?", []) == "question : q ?\nanswer :"


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_an_empty_question_is_refused(bad):
    with pytest.raises(ValueError, match="empty"):
        build_prompt(bad, ["a"])


def test_one_string_of_passages_is_refused():
    with pytest.raises(TypeError, match="list"):
        build_prompt("q ?", "a passage")


def test_parse_answer_keeps_valid_citations_once_in_order():
    assert parse_answer("weaver [3] [1] [3]", 3) == ("weaver", [3, 1])
    assert parse_answer("weaver [0] [4]", 3) == ("weaver", [])
    assert parse_answer("", 3) == ("", [])


def test_is_supported_matches_whole_words_case_blind():
    ps = ["Velmora was born in Port Karst .", "Tavrin keeps a heron ."]
    assert is_supported("PORT KARST", ps) and is_supported("heron.", ps)
    assert not is_supported("Karst Port", ps)  # order matters
    assert not is_supported("her", ps)  # part of a word
    assert not is_supported("", ps) and not is_supported("heron", [])


def test_pack_passages_keeps_the_best_that_fit():
    n = lambda s: len(s.split())
    assert pack_passages(["a b", "c d e", "f"], 3, n) == ["a b", "f"]
    assert pack_passages(["a b c d"], 3, n) == []
    assert pack_passages([], 3, n) == []


# ----------------------------------------------------------------------------- marginalisation
def _random_case(K, N, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(K, generator=g, dtype=torch.float64) * 3
    tok_logp = torch.log_softmax(torch.randn(K, N, 7, generator=g, dtype=torch.float64), dim=-1)[..., 0]  # (K, N)
    return scores, tok_logp


@pytest.mark.parametrize("K,N,seed", [(1, 1, 0), (3, 1, 1), (4, 3, 2), (8, 5, 3), (2, 2, 4)])
def test_rag_sequence_and_token_equal_the_brute_force_sums(K, N, seed):
    scores, tok_logp = _random_case(K, N, seed)
    log_pz = passage_log_posterior(scores)
    pz, tok_p = log_pz.exp().tolist(), tok_logp.exp().tolist()
    assert math.isclose(rag_sequence_logprob(log_pz, tok_logp).exp().item(), rag_sequence_naive(pz, tok_p),
                        rel_tol=1e-10)
    assert math.isclose(rag_token_logprob(log_pz, tok_logp).exp().item(), rag_token_naive(pz, tok_p),
                        rel_tol=1e-10)


def test_rag_sequence_is_a_sum_over_every_path_and_token_over_every_per_token_choice():
    """Brute force over latent assignments: RAG-Sequence picks one z for the whole answer;
    RAG-Token sums over every sequence (z_1, ..., z_N) of per-token passages."""
    K, N = 3, 3
    scores, tok_logp = _random_case(K, N, 7)
    pz = passage_log_posterior(scores).exp()
    p = tok_logp.exp()
    seq = sum(pz[z] * torch.prod(p[z]) for z in range(K))
    tokn = sum(torch.prod(torch.stack([pz[z] * p[z, i] for i, z in enumerate(zs)]))
               for zs in itertools.product(range(K), repeat=N))
    log_pz = passage_log_posterior(scores)
    assert torch.isclose(rag_sequence_logprob(log_pz, tok_logp).exp(), seq)
    assert torch.isclose(rag_token_logprob(log_pz, tok_logp).exp(), tokn)


def test_one_token_answers_make_the_two_marginals_equal_and_one_passage_makes_them_the_reader():
    scores, tok_logp = _random_case(5, 1, 9)
    log_pz = passage_log_posterior(scores)
    assert torch.isclose(rag_sequence_logprob(log_pz, tok_logp), rag_token_logprob(log_pz, tok_logp))
    one = torch.tensor([[-0.5, -1.5]], dtype=torch.float64)
    lz = passage_log_posterior(torch.tensor([2.0]))
    assert torch.isclose(rag_sequence_logprob(lz, one), torch.tensor(-2.0, dtype=torch.float64))


def test_marginals_stay_finite_at_extreme_scores():
    scores = torch.tensor([1000.0, -1000.0, 0.0], dtype=torch.float64)
    tok_logp = torch.tensor([[-800.0, -900.0], [-1.0, -1.0], [-2.0, -3.0]], dtype=torch.float64)
    lz = passage_log_posterior(scores)
    assert torch.isfinite(rag_sequence_logprob(lz, tok_logp)) and torch.isfinite(rag_token_logprob(lz, tok_logp))


def test_passage_posterior_refuses_no_passages():
    with pytest.raises(ValueError, match="no passage"):
        passage_log_posterior(torch.tensor([]))
    with pytest.raises(ValueError, match="temperature"):
        passage_log_posterior(torch.tensor([1.0]), temperature=0)


# ----------------------------------------------------------------------------- metrics
def test_answer_and_citation_metrics():
    assert evaluate.exact_match("port karst", "Port Karst") and not evaluate.exact_match("Karst", "Port Karst")
    assert evaluate.contains_gold("it is Port Karst", "Port Karst")
    assert evaluate.citation_correct(["x .", "Velmora keeps a heron ."], "Velmora keeps a heron .")
    assert not evaluate.citation_correct([], "Velmora keeps a heron .")
    assert evaluate.recall_at_k(["a", "Velmora keeps a heron ."], "Velmora keeps a heron .", k=2)
    assert not evaluate.recall_at_k(["a", "Velmora keeps a heron ."], "Velmora keeps a heron .", k=1)


def test_chunkers():
    assert pipeline.chunk_sentences("A b . C d ? E") == ["A b .", "C d ?", "E"]
    assert pipeline.chunk_words("a b c d e f", 4, overlap=2) == ["a b c d", "c d e f"]
    with pytest.raises(ValueError):
        pipeline.chunk_words("a", 2, overlap=2)
