"""Past one machine: the same retriever on a vector engine, Qdrant (Chapter 12).

Everything else in this package holds the index in this process's memory, which is the
right design up to a few million vectors on one machine. Past that, or when several
processes must share one index that is updated while it is searched, or when the index
must survive a restart and be replicated, a vector *engine* does the work: it stores the
vectors on disk, builds an HNSW graph (Malkov & Yashunin 2018) over them, filters by
payload, shards and replicates across machines.

``QdrantRetriever`` puts the course's ``Retriever`` interface on Qdrant through
``qdrant-client``. ``location=":memory:"`` (the default, what the tests use) or a folder
path runs Qdrant's *embedded local mode* inside this process, no server needed; a URL
(``url="http://localhost:6333"``, or a Qdrant Cloud cluster with ``api_key``) talks to a
server with the very same code. The encoder is the ``DenseRetriever``'s (MiniLM by
default), and the distance is cosine. Local mode searches exactly (a brute-force scan);
a server uses its HNSW index.
"""
from __future__ import annotations

import uuid
from typing import Callable

from torch import Tensor

from groundup.retrieval.base import Hit, check_queries
from groundup.retrieval.dense import DenseRetriever, check_k, check_unit_rows, index_inputs

__all__ = ["QdrantRetriever"]


class QdrantRetriever:
    """The ``Retriever`` interface on Qdrant: embedded (``":memory:"``, a path) or a server ``url``."""

    def __init__(self, location: str | None = ":memory:", *, url: str | None = None, api_key: str | None = None,
                 collection: str | None = None, embed: Callable | None = None, dense: DenseRetriever | None = None,
                 batch_size: int = 1024):
        from qdrant_client import QdrantClient

        if url is not None:
            self.client = QdrantClient(url=url, api_key=api_key)
        elif location == ":memory:" or location is None:
            self.client = QdrantClient(":memory:")
        else:
            self.client = QdrantClient(path=str(location))
        self.collection = collection or f"groundup-{uuid.uuid4().hex[:8]}"
        self.dense = dense or DenseRetriever(embed=embed)  # only its encoder is used
        self.batch_size = batch_size
        self.doc_ids: list[str] = []

    def index(
        self,
        doc_ids: list[str],
        texts: list[str] | None = None,
        *,
        vectors: Tensor | None = None,
    ) -> None:
        from qdrant_client import models

        doc_ids, vectors = index_inputs(self.dense.encode, doc_ids, texts, vectors)
        vectors = check_unit_rows(vectors.float(), "document vectors")
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        self.client.create_collection(
            self.collection,
            vectors_config=models.VectorParams(
                size=int(vectors.shape[1]), distance=models.Distance.COSINE
            ),
        )
        # Qdrant point ids are ints or UUIDs: use the row number, and
        # keep the doc id as payload.
        for start in range(0, len(doc_ids), self.batch_size):
            rows = range(start, min(start + self.batch_size, len(doc_ids)))
            self.client.upsert(self.collection, points=models.Batch(
                ids=list(rows), vectors=vectors[start:rows.stop].tolist(),
                payloads=[{"doc_id": doc_ids[i]} for i in rows]), wait=True)
        self.doc_ids = doc_ids
        self.dim = int(vectors.shape[1])

    def search_vectors(self, q: Tensor, k: int) -> list[list[Hit]]:
        from qdrant_client import models

        if not self.doc_ids:
            raise RuntimeError("call index(doc_ids, texts) before search")
        check_unit_rows(q, "query vectors")
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have width {q.shape[1]} but the index {self.dim}")
        check_k(k, len(self.doc_ids))
        requests = [models.QueryRequest(query=row, limit=k, with_payload=False) for row in q.float().tolist()]
        out = []
        for res in self.client.query_batch_points(self.collection, requests):
            out.append([(self.doc_ids[int(p.id)], float(p.score)) for p in res.points])  # best first
        return out

    def search(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        queries = check_queries(queries, bool(self.doc_ids))
        check_k(k, len(self.doc_ids))
        return self.search_vectors(self.dense.encode(queries), k)

    def close(self) -> None:
        self.client.close()
