"""Retrieval-augmented generation (Chapter 13): retrieve passages, put them in the prompt
with numbered citations, read an answer out of them.

Modules, bottom up: ``world`` (the invented facts of the offline experiment), ``prompt``
(the prompt with citations, and checking them), ``reader`` (the course GPT trained to read),
``marginal`` (RAG-Sequence and RAG-Token, Lewis et al. 2020), ``generators`` (the course
reader or a ``transformers`` model behind one interface), ``pipeline`` (chunk, index,
retrieve, prompt, generate, cite), ``evaluate`` (recall, exact match, citations, failure
modes, latency) and ``pydocs`` (ask the Python docs, extractively).
"""
