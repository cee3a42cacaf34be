"""An invented world for the offline RAG experiment (Chapter 13).

To see what retrieval adds we need facts that no model can know from pretraining: facts
about *invented* people, drawn from a seed. Each person has one document::

    Velmora was born in Port Karst . Velmora works as a weaver . Velmora keeps a heron .

and each fact becomes a question with a short answer::

    where was Velmora born ?              ->  Port Karst
    what does Velmora work as ?           ->  weaver
    what animal does Velmora keep ?       ->  heron

Every relation has ``n_values`` possible answers (places are two words, so that RAG-Token
can splice two documents into an answer neither states), so a reader that has not seen
the document is right with probability 1 / n_values: *chance*.

The reader (``groundup.rag.reader``) is trained on freshly drawn worlds, where the same
name gets new facts in every example; nothing about a particular world can be memorised,
and the test world's facts are unknowable without its documents.

The whole world speaks a closed vocabulary, so the reader reads words, not characters:
``WorldTokenizer`` maps each word (name, value, template word, citation mark ``[3]``) to
one id. That keeps sequences short enough to train the reader in under a minute on one core.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["WorldConfig", "Fact", "Person", "Question", "World", "make_world", "person_names",
           "RELATIONS", "WorldTokenizer"]

# relation -> (question template, the values' pool). Places are two words: prefix + stem.
_PLACE_PREFIXES = ("Port", "Old", "New", "Upper", "Lower")
_PLACE_STEMS = ("Karst", "Ombrel", "Vessa", "Dunmor", "Tiral", "Quenby", "Halder", "Brisk")
_TRADES = ("weaver", "smith", "potter", "baker", "mason", "tanner", "cooper", "glazier", "miller",
           "carver", "dyer", "roper")
_ANIMALS = ("heron", "lynx", "ferret", "tortoise", "raven", "hare", "goat", "marten", "newt",
            "badger", "stoat", "owl")
_QUESTIONS = {
    "born": "where was {name} born ?",
    "trade": "what does {name} work as ?",
    "pet": "what animal does {name} keep ?",
}
_SENTENCES = {
    "born": "{name} was born in {value} .",
    "trade": "{name} works as a {value} .",
    "pet": "{name} keeps a {value} .",
}
RELATIONS = tuple(_QUESTIONS)
_SYLLABLES_A = ("Vel", "Tav", "Or", "Qui", "Zan", "Mer", "Ast", "Bel", "Cor", "Dra", "El", "Fen",
                "Gal", "Hol", "Isk", "Jor", "Kel", "Lun", "Mor", "Nal", "Pim", "Ros", "Sel", "Tor")
_SYLLABLES_B = ("mora", "rin", "wen", "dris", "ilo", "aska", "ethe", "undo", "avi", "orn", "issa",
                "emar", "uth", "alia", "ost", "yra")


@dataclass(frozen=True)
class WorldConfig:
    """The size of an invented world."""

    n_people: int = 200  # people, one document each
    n_values: int = 10  # possible answers per relation (chance = 1 / n_values)
    seed: int = 0  # draws the people's facts (the name pool and value sets are fixed)


@dataclass(frozen=True)
class Fact:
    name: str  # who
    relation: str  # one of RELATIONS
    value: str  # the answer, e.g. "Port Karst"


@dataclass(frozen=True)
class Person:
    name: str
    born: str
    trade: str
    pet: str

    def document(self) -> str:
        """The one document that states this person's facts."""
        return " ".join(self.sentence(r) for r in RELATIONS)

    def sentence(self, relation: str) -> str:
        """The one sentence that states one fact: a passage, once the document is chunked."""
        return _SENTENCES[relation].format(name=self.name, value=self.value(relation))

    def value(self, relation: str) -> str:
        return getattr(self, relation)


@dataclass(frozen=True)
class Question:
    qid: str  # "q<person index>-<relation>"
    text: str  # e.g. "where was Velmora born ?"
    answer: str  # the gold answer
    doc_id: str  # the document that states it
    relation: str
    evidence: str  # the sentence of that document that states it (the gold passage once chunked)


def person_names() -> tuple[str, ...]:
    """The pool of invented names (24 x 16 = 384), each one word of the vocabulary.

    >>> person_names()[:3]
    ('Velmora', 'Velrin', 'Velwen')
    """
    return tuple(a + b for a in _SYLLABLES_A for b in _SYLLABLES_B)


def relation_values(n_values: int) -> dict[str, tuple[str, ...]]:
    """The possible answers of each relation: the first ``n_values`` of each pool.

    Places are prefix + stem, taken so that prefixes and stems recur across places
    (two places can share a word, which RAG-Token can mix)."""
    places = tuple(f"{p} {s}" for s in _PLACE_STEMS for p in _PLACE_PREFIXES)
    rng = random.Random(1234)  # a fixed interleaving, the same for every world
    places = tuple(rng.sample(places, len(places)))
    limit = min(len(places), len(_TRADES), len(_ANIMALS))
    if not 2 <= n_values <= limit:
        raise ValueError(f"n_values must be between 2 and {limit}, got {n_values}.")
    return {"born": places[:n_values], "trade": _TRADES[:n_values], "pet": _ANIMALS[:n_values]}


def draw_people(rng: random.Random, n_people: int, n_values: int) -> list[Person]:
    """``n_people`` distinct names, each with facts drawn uniformly from the value sets."""
    names = person_names()
    if not 1 <= n_people <= len(names):
        raise ValueError(f"n_people must be between 1 and {len(names)} (the name pool), got {n_people}.")
    values = relation_values(n_values)
    return [Person(name, rng.choice(values["born"]), rng.choice(values["trade"]), rng.choice(values["pet"]))
            for name in rng.sample(names, n_people)]


def question_text(name: str, relation: str) -> str:
    return _QUESTIONS[relation].format(name=name)


@dataclass(frozen=True)
class World:
    """A drawn world: its people, their documents (the collection) and the questions."""

    config: WorldConfig
    people: tuple[Person, ...]

    @property
    def doc_ids(self) -> list[str]:
        return [f"d{i}" for i in range(len(self.people))]

    def documents(self) -> list[str]:
        return [p.document() for p in self.people]

    def corpus(self) -> dict[str, str]:
        """doc id -> text."""
        return dict(zip(self.doc_ids, self.documents()))

    def questions(self) -> list[Question]:
        """Every (person, relation) pair as a question whose gold passage is the person's document."""
        return [Question(f"q{i}-{rel}", question_text(p.name, rel), p.value(rel), f"d{i}", rel, p.sentence(rel))
                for i, p in enumerate(self.people) for rel in RELATIONS]

    def passages(self) -> dict[str, str]:
        """The documents chunked by sentence: passage id ``d<i>-<relation>`` -> one fact."""
        return {f"d{i}-{rel}": p.sentence(rel) for i, p in enumerate(self.people) for rel in RELATIONS}

    def values(self, relation: str) -> tuple[str, ...]:
        return relation_values(self.config.n_values)[relation]


def make_world(config: WorldConfig = WorldConfig()) -> World:
    """The same world for the same config.

    >>> w = make_world(WorldConfig(n_people=3, seed=1))
    >>> len(w.documents()), len(w.questions())
    (3, 9)
    """
    rng = random.Random(config.seed)
    return World(config, tuple(draw_people(rng, config.n_people, config.n_values)))


# ----------------------------------------------------------------------------- tokenizer
class WorldTokenizer:
    """One id per word of the invented world's closed vocabulary.

    Text is split on spaces (the world's punctuation is spaced out already). Special
    words: ``<pad>`` (id 0), ``<eos>`` ends an answer, ``<unk>`` stands for a word outside
    the vocabulary (a question about the real world, say).

    >>> tok = WorldTokenizer()
    >>> tok.decode(tok.encode("where was Velmora born ?"))
    'where was Velmora born ?'
    """

    SPECIAL = ("<pad>", "<eos>", "<unk>")

    def __init__(self, max_passages: int = 16):
        words = set()
        for tmpl in _QUESTIONS.values():
            words.update(tmpl.replace("{name}", "").split())
        for tmpl in _SENTENCES.values():
            words.update(tmpl.replace("{name}", "").replace("{value}", "").split())
        words.update(("question", "answer", ":", "?", ".", ","))
        values = relation_values(min(len(_TRADES), len(_ANIMALS), len(_PLACE_STEMS) * len(_PLACE_PREFIXES)))
        for vs in values.values():
            for v in vs:
                words.update(v.split())
        words.update(person_names())
        marks = [f"[{i}]" for i in range(1, max_passages + 1)]
        self.itos = list(self.SPECIAL) + marks + sorted(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.eos_id, self.unk_id = 0, 1, 2
        self.max_passages = max_passages

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in text.split()]

    def decode(self, ids) -> str:
        return " ".join(self.itos[int(i)] for i in ids)
