"""Content-based image retrieval metrics (the CSMAE protocol), exact cosine top-K.

For each query, the K archive items of highest cosine similarity are retrieved (ties go
to the lower archive index). With multi-hot labels q (query) and r (retrieved item):

- precision = |q ∩ r| / |r| and recall = |q ∩ r| / |q|, each averaged over every
  (query, retrieved item) pair (0 where the denominator is 0); F1 = harmonic mean of the
  two averages;
- mAP@K: AP@K = (1 / R_K) * sum_{i <= K} P@i * rel_i, with rel_i = 1 when item i shares
  a label with the query, P@i the share of relevant items among the first i, R_K the
  number of relevant items in the top K (AP = 0 when there is none); mean over queries.
"""

from __future__ import annotations

import numpy as np

QUERY_CHUNK = 1024  # queries scored at once: a (1024, archive) similarity block


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def top_k(query_emb: np.ndarray, archive_emb: np.ndarray, k: int) -> np.ndarray:
    """(queries, k) archive indices by decreasing cosine similarity."""
    if k > len(archive_emb):
        raise ValueError(f"k={k} exceeds the archive of {len(archive_emb)} items")
    queries, archive = _unit(query_emb), _unit(archive_emb)
    out = np.empty((len(queries), k), dtype=np.int64)
    for lo in range(0, len(queries), QUERY_CHUNK):
        sim = queries[lo : lo + QUERY_CHUNK] @ archive.T
        candidates = _top_k_set(sim, k)
        scores = np.take_along_axis(sim, candidates, axis=1)
        order = np.lexsort((candidates, -scores), axis=1)  # by score, then index
        out[lo : lo + QUERY_CHUNK] = np.take_along_axis(candidates, order, axis=1)
    return out


def _top_k_set(sim: np.ndarray, k: int) -> np.ndarray:
    """(rows, k) indices of the k highest scores per row, items tied with the k-th score
    taken from the lowest index up (`np.argpartition` alone picks an arbitrary subset)."""
    kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1 : k]
    above = sim > kth
    tied = sim == kth
    room = k - above.sum(axis=1, keepdims=True)  # tied items that still fit
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
    return np.nonzero(chosen)[1].reshape(len(sim), k)


def per_query(query_emb, query_labels, archive_emb, archive_labels, k: int) -> dict:
    """Per query (arrays of Q): ``precision`` and ``recall`` averaged over its k
    retrieved items, and ``ap`` (AP@k): what every retrieval metric is a mean of."""
    q = np.asarray(query_labels, dtype=bool)
    a = np.asarray(archive_labels, dtype=bool)
    retrieved = a[top_k(query_emb, archive_emb, k)]  # (Q, k, C)
    shared = (q[:, None, :] & retrieved).sum(axis=2)  # (Q, k)
    r_size = retrieved.sum(axis=2)
    q_size = np.broadcast_to(q.sum(axis=1, keepdims=True), shared.shape)
    precision = np.divide(shared, r_size, out=np.zeros(shared.shape), where=r_size > 0)
    recall = np.divide(shared, q_size, out=np.zeros(shared.shape), where=q_size > 0)
    relevant = shared > 0
    precision_at = np.cumsum(relevant, axis=1) / np.arange(1, k + 1)
    hits = relevant.sum(axis=1)
    ap = np.divide((precision_at * relevant).sum(axis=1), hits, out=np.zeros(len(q)),
                   where=hits > 0)  # fmt: skip
    return {"precision": precision.mean(axis=1), "recall": recall.mean(axis=1), "ap": ap}


def summarise(scores: dict) -> dict:
    """precision, recall, f1 (of the two means) and map from `per_query` scores."""
    precision, recall = float(scores["precision"].mean()), float(scores["recall"].mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "map": float(scores["ap"].mean())}


def retrieval_metrics(query_emb, query_labels, archive_emb, archive_labels, k: int) -> dict:
    """precision, recall, f1 and map of top-`k` retrieval (see the module docstring)."""
    return summarise(per_query(query_emb, query_labels, archive_emb, archive_labels, k))
