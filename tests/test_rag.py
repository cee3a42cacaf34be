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


# ----------------------------------------------------------------------------- the transformers path
def _tiny_hf_model(folder, chat: bool):
    """A randomly initialised GPT-2 (2 layers, width 32) and a word-level tokenizer, saved
    to ``folder``: the HFGenerator code path with no download."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = sorted(set(" ".join(make_world(WorldConfig(n_people=20)).documents()).split()) |
                   set("question answer : [1] [2] [3] where was born ? Answer the using only".split()))
    vocab = {w: i for i, w in enumerate(["<unk>", "<eos>"] + words)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", eos_token="<eos>", pad_token="<eos>")
    if chat:
        tok.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}answer :"
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                               eos_token_id=1, bos_token_id=1)).save_pretrained(folder)


@pytest.mark.parametrize("chat", [False, True])
def test_hf_generator_runs_a_tiny_local_model_through_the_pipeline(tmp_path, chat):
    from groundup.rag.generators import HFGenerator
    from groundup.rag.pipeline import RAGPipeline
    from groundup.retrieval.bm25 import BM25

    _tiny_hf_model(tmp_path, chat)
    gen = HFGenerator(tmp_path, instruction="")
    assert gen.window == 64 and gen.count_tokens("where was born ?") == 4
    out = gen.generate("question : where was born ? answer :", max_new_tokens=3)
    assert isinstance(out, str) and len(out.split()) <= 3
    w = make_world(WorldConfig(n_people=20))
    rag = RAGPipeline(BM25(), gen, k=3, max_new_tokens=3)
    rag.index(w.doc_ids, w.documents())
    q = w.questions()[0]
    ans = rag.ask(q.text)
    assert ans.passages and ans.passages[0].text == q.evidence  # BM25 finds the name
    assert ans.prompt.count("[") >= 1 and all(p in ans.passages for p in ans.cited)
    with pytest.raises(ValueError, match="window"):
        gen.generate(" ".join(["where"] * 70), max_new_tokens=3)


# ----------------------------------------------------------------------------- the course reader
from groundup.rag.reader import ReaderConfig, greedy_answers, make_example, train_reader  # noqa: E402

# One passage at a time (reading several is what the page's reader spends its minute on): ~10 s on one core.
FAST = ReaderConfig(max_passages=1, block_size=32, steps=200)


@pytest.fixture(scope="module")
def fast_reader(tmp_path_factory):
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("cache")
    reader = train_reader(FAST, cache_dir=cache)
    reader.cache_dir = cache
    return reader


def test_training_examples_cite_the_passage_that_states_the_answer():
    rng = random.Random(0)
    cfg = ReaderConfig()
    for _ in range(200):
        prompt, target = make_example(rng, cfg)
        passages = [line.split(" ", 1)[1] for line in prompt.splitlines() if line.startswith("[")]
        answer, cited = parse_answer(target.split("<eos>")[0], len(passages))
        question = prompt.splitlines()[-2]
        name = next(w for w in question.split() if w[0].isupper())
        if passages:
            assert len(cited) == 1 and is_supported(answer, [passages[cited[0] - 1]])
            assert name in passages[cited[0] - 1]
        else:
            assert cited == [] and answer


def test_the_reader_is_at_chance_closed_book_and_reads_the_gold_passage(fast_reader):
    w = make_world(WorldConfig(n_people=100, seed=5))
    scores = evaluate.accuracy_by_condition(fast_reader, w)
    assert scores["closed-book"].accuracy < 0.25  # chance is 1/10
    assert scores["gold passage"].accuracy > 0.8 and scores["gold passage"].citation > 0.8
    assert scores["wrong passage"].accuracy < 0.25 and scores["wrong passage"].hallucination > 0.5


def test_the_cache_returns_the_same_weights(fast_reader):
    assert fast_reader.trained_now and fast_reader.history["loss"][-1] < fast_reader.history["loss"][0]
    again = train_reader(FAST, cache_dir=fast_reader.cache_dir)
    assert not again.trained_now and again.history == fast_reader.history
    for a, b in zip(again.model.state_dict().values(), fast_reader.model.state_dict().values()):
        assert torch.equal(a, b)
    assert ReaderConfig(steps=1).key() != FAST.key() and ReaderConfig().key() == ReaderConfig().key()


def test_batched_greedy_answers_equal_generate_one_at_a_time(fast_reader):
    from groundup.rag.generators import CourseGenerator

    w = make_world(WorldConfig(n_people=10, seed=2))
    qs = w.questions()[:12]
    prompts = [build_prompt(q.text, [q.evidence]) for q in qs] + [build_prompt(q.text, []) for q in qs[:4]]
    gen = CourseGenerator(fast_reader)
    assert greedy_answers(fast_reader, prompts) == [gen.generate(p) for p in prompts]


def test_the_pipeline_answers_with_citations_and_handles_bad_input(fast_reader):
    from groundup.rag.generators import CourseGenerator
    from groundup.rag.pipeline import RAGPipeline
    from groundup.retrieval.bm25 import BM25

    w = make_world(WorldConfig(n_people=50, seed=8))
    rag = RAGPipeline(BM25(), CourseGenerator(fast_reader), k=1)
    with pytest.raises(RuntimeError, match="index"):
        rag.ask("where was Velmora born ?")
    rag.index(w.doc_ids, w.documents())
    right = 0
    for q in w.questions()[:30]:
        a = rag.ask(q.text)
        assert a.passages and a.seconds["search"] >= 0
        right += evaluate.exact_match(a.answer, q.answer) and a.supported
    assert right >= 20
    with pytest.raises(ValueError, match="empty"):
        rag.ask("  ")
    with pytest.raises(ValueError, match="window"):
        rag.ask("where was " + "Velmora " * 40 + "born ?")
    nothing = rag.ask("zzz qqq ?")  # no word in the index: nothing retrieved, the pipeline abstains
    assert nothing.answer == "" and nothing.passages == [] and not nothing.supported


def test_rag_sequence_scores_with_the_reader_match_a_brute_force_loop(fast_reader):
    from groundup.rag.marginal import passage_token_logprobs, rag_sequence_answer, rag_token_answer
    from groundup.rag.reader import answer_logprobs

    w = make_world(WorldConfig(n_people=10, seed=3))
    q = w.questions()[0]
    passages = [q.evidence, w.people[1].sentence(q.relation), w.people[2].sentence(q.relation)]
    scores = torch.tensor([2.0, 1.0, 0.5])
    tok = passage_token_logprobs(fast_reader, q.text, passages, q.answer)  # (K, N)
    brute = sum(torch.softmax(scores.double(), 0)[z] *
                answer_logprobs(fast_reader, [build_prompt(q.text, [passages[z]])], [q.answer])[0].double().exp()
                for z in range(3))
    got = rag_sequence_logprob(passage_log_posterior(scores), tok).exp()
    assert torch.isclose(got, brute, rtol=1e-5)
    best, marg = rag_sequence_answer(fast_reader, q.text, passages, scores)
    assert best == q.answer and set(marg) >= {q.answer}
    assert isinstance(rag_token_answer(fast_reader, q.text, passages, scores), str)
    with pytest.raises(ValueError, match="no passages"):
        passage_token_logprobs(fast_reader, q.text, [], q.answer)


# ----------------------------------------------------------------------------- ask the Python docs
def test_docs_qa_cites_the_passage_its_sentence_comes_from():
    from groundup.rag import pydocs
    from groundup.rag.pydocs import DocsQA

    assert doctest.testmod(pydocs).failed == 0

    def bag_of_words(texts):  # a stand-in for MiniLM: unit bag-of-words vectors over a few words
        vocab = ["sort", "list", "place", "file", "open", "read", "json"]
        v = torch.tensor([[float(w in t.lower()) for w in vocab] for t in texts]) + 1e-3
        return v / v.norm(dim=1, keepdim=True)

    docs = [("list.sort", "Sort the list in place. The sort is stable and returns None."),
            ("open", "Open a file and return a stream. Raise OSError upon failure to open it."),
            ("json.load", "Read a JSON document from a file object. Deserialize it to a Python object.")]
    qa = DocsQA(embed=bag_of_words, size=8, overlap=2).index(docs)
    a = qa.ask("how do I sort a list in place?", k=2)
    assert a.answer == "Sort the list in place." and a.passages[a.citation - 1][0] == "list.sort"
    assert a.answer in a.passages[a.citation - 1][1].text
    assert "[1] list.sort" in a.render()
    with pytest.raises(ValueError, match="empty"):
        qa.ask("")
    with pytest.raises(RuntimeError, match="index"):
        DocsQA(embed=bag_of_words).ask("sort?")


@pytest.mark.slow
def test_the_pages_reader_reads_up_to_three_passages(tmp_path):
    """The page's reader from a cold cache (about a minute on one core)."""
    torch.set_num_threads(1)
    reader = train_reader(ReaderConfig(), cache_dir=tmp_path)
    w = make_world(WorldConfig(n_people=100, seed=0))
    scores = evaluate.accuracy_by_condition(reader, w)
    assert scores["closed-book"].accuracy < 0.25 and scores["gold passage"].accuracy > 0.95
    assert scores["wrong passage"].hallucination > 0.8
    qs = w.questions()
    # the person's three facts, the asked one at a random place: the reader picks the relation
    rng = random.Random(0)
    prompts = []
    for q in qs:
        facts = [w.people[int(q.doc_id[1:])].sentence(r) for r in RELATIONS]
        rng.shuffle(facts)
        prompts.append(build_prompt(q.text, facts))
    outs = greedy_answers(reader, prompts)
    assert sum(parse_answer(o)[0] == q.answer for o, q in zip(outs, qs)) / len(qs) > 0.9
