"""Evaluation metrics against independent loop implementations of their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from csmoe.evaluation.classification import (
    C_GRID,
    average_accuracy,
    probe_classes,
    selected_probe,
)
from csmoe.evaluation.retrieval import retrieval_metrics, top_k


def reference_retrieval(query_emb, query_labels, archive_emb, archive_labels, k: int) -> dict:
    """The definitions, one query and one retrieved item at a time."""
    precisions, recalls, aps = [], [], []
    for emb, labels in zip(query_emb, query_labels, strict=True):
        sims = [
            float(np.dot(emb, other) / (np.linalg.norm(emb) * np.linalg.norm(other)))
            for other in archive_emb
        ]
        ranked = sorted(range(len(sims)), key=lambda i: (-sims[i], i))[:k]
        query = {c for c, on in enumerate(labels) if on}
        hits, precision_sum = 0, 0.0
        for rank, item in enumerate(ranked, start=1):
            found = {c for c, on in enumerate(archive_labels[item]) if on}
            shared = len(query & found)
            precisions.append(shared / len(found) if found else 0.0)
            recalls.append(shared / len(query) if query else 0.0)
            if shared:
                hits += 1
                precision_sum += hits / rank
        aps.append(precision_sum / hits if hits else 0.0)
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "map": sum(aps) / len(aps)}  # fmt: skip


@pytest.mark.parametrize(("seed", "k"), [(0, 5), (1, 10), (2, 1)])
def test_retrieval_metrics_match_the_definitions(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    queries, archive = rng.normal(size=(37, 8)), rng.normal(size=(53, 8))
    q_labels = rng.random((37, 19)) < 0.15
    a_labels = rng.random((53, 19)) < 0.15
    q_labels[3] = False  # a query without labels
    a_labels[7] = False  # an archive item without labels
    got = retrieval_metrics(queries, q_labels, archive, a_labels, k)
    want = reference_retrieval(queries, q_labels, archive, a_labels, k)
    assert got == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_top_k_orders_by_similarity_and_breaks_ties_by_index() -> None:
    archive = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    assert top_k(np.array([[1.0, 0.0]]), archive, 3).tolist() == [[0, 2, 3]]
    with pytest.raises(ValueError, match="exceeds the archive"):
        top_k(np.array([[1.0, 0.0]]), archive, 5)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_items_tied_at_the_kth_score_are_taken_from_the_lowest_index(k: int) -> None:
    """Duplicated archive embeddings tie exactly; `np.argpartition` alone returns an
    arbitrary subset of the tied items."""
    rng = np.random.default_rng(4)
    archive = np.repeat(rng.normal(size=(6, 4)), 40, axis=0)  # 6 distinct, 40 copies each
    archive = archive[rng.permutation(len(archive))]
    queries = rng.normal(size=(25, 4))
    got = top_k(queries, archive, k)
    for query, row in zip(queries, got, strict=True):
        sims = [float(np.dot(query, a) / (np.linalg.norm(query) * np.linalg.norm(a)))
                for a in archive]  # fmt: skip
        want = sorted(range(len(archive)), key=lambda i: (-np.float32(sims[i]), i))[:k]
        assert row.tolist() == want


def test_identical_embeddings_retrieve_perfectly() -> None:
    labels = np.eye(6, 19, dtype=bool)
    emb = np.eye(6, 6)
    assert retrieval_metrics(emb, labels, emb, labels, 1) == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "map": 1.0}
    )


def test_confusion_and_iou_match_scikit_learn() -> None:
    from sklearn.metrics import confusion_matrix, jaccard_score

    from csmoe.evaluation.segmentation import IGNORE, confusion, iou_scores

    rng = np.random.default_rng(0)
    truth = rng.integers(-1, 5, size=(4, 30, 30))  # -1: ignored pixels
    predicted = rng.integers(0, 5, size=(4, 30, 30))
    matrix = confusion(truth, predicted, 5)
    valid = truth != IGNORE
    expected = confusion_matrix(truth[valid], predicted[valid], labels=range(5))
    np.testing.assert_array_equal(matrix, expected)
    iou, miou = iou_scores(matrix)
    np.testing.assert_allclose(iou, jaccard_score(truth[valid], predicted[valid], average=None))
    assert miou == pytest.approx(jaccard_score(truth[valid], predicted[valid], average="macro"))


def test_iou_leaves_out_classes_never_seen() -> None:
    from csmoe.evaluation.segmentation import iou_scores

    matrix = np.array([[5, 1, 0], [2, 4, 0], [0, 0, 0]])
    iou, miou = iou_scores(matrix)
    assert np.isnan(iou[2]) and miou == pytest.approx((5 / 8 + 4 / 7) / 2)


def test_token_fractions_match_a_loop_over_tokens() -> None:
    import torch

    from csmoe.evaluation.segmentation import token_fractions

    rng = np.random.default_rng(1)
    targets = rng.integers(-1, 4, size=(3, 120, 120))  # -1: pixels of no class
    targets[0, :15, :15] = -1  # a token without any valid pixel
    fractions = token_fractions(torch.from_numpy(targets), 4, grid=8, chunk=2).numpy()
    for n in range(3):
        for i in range(8):
            for j in range(8):
                cell = targets[n, 15 * i : 15 * (i + 1), 15 * j : 15 * (j + 1)]
                valid = cell[cell >= 0]
                expected = np.bincount(valid, minlength=4) / max(len(valid), 1)
                np.testing.assert_allclose(fractions[n, :, i, j], expected, atol=1e-6)


def test_segmentation_decoder_separates_classes_its_tokens_encode() -> None:
    from csmoe.evaluation.segmentation import segmentation

    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 3, size=(40, 4, 4))  # land cover in 2 x 2 token blocks
    token_classes = np.repeat(np.repeat(blocks, 2, axis=1), 2, axis=2)
    codes = np.array([211, 311, 512])
    maps = np.repeat(np.repeat(codes[token_classes], 15, axis=1), 15, axis=2)
    features = np.eye(3)[token_classes].transpose(0, 3, 1, 2) * 4
    features += rng.normal(scale=0.1, size=features.shape)
    result = segmentation(features[:30], maps[:30], features[30:], maps[30:], epochs=100)
    assert result["pixel_accuracy"] > 0.8 and result["miou"] > 0.7
    noise = rng.normal(size=features.shape)  # features that say nothing about the map
    chance = segmentation(noise[:30], maps[:30], noise[30:], maps[30:], epochs=100)
    assert chance["miou"] < 0.4


def test_segmentation_charges_test_classes_absent_from_training() -> None:
    """A test class the training maps never show is never predicted: its pixels are
    errors and its IoU is 0 (it used to be left out of the score)."""
    from csmoe.evaluation.segmentation import segmentation

    rng = np.random.default_rng(3)
    blocks = rng.integers(0, 2, size=(40, 4, 4))
    token_classes = np.repeat(np.repeat(blocks, 2, axis=1), 2, axis=2)
    maps = np.repeat(np.repeat(np.array([211, 311])[token_classes], 15, 1), 15, 2)
    features = np.eye(2)[token_classes].transpose(0, 3, 1, 2) * 4.0
    test_maps = maps[30:].copy()
    test_maps[:, :60] = 512  # the top half of every test map: water, unseen in training
    result = segmentation(features[:30], maps[:30], features[30:], test_maps, epochs=60)
    assert result["iou"]["512"] == 0.0 and result["classes_not_in_training"] == [512]
    assert result["pixel_accuracy"] <= 0.5 + 1e-9  # half the pixels are that class
    seen = [result["iou"]["211"], result["iou"]["311"]]
    assert result["miou"] == pytest.approx((seen[0] + seen[1] + 0.0) / 3)


def test_linear_probe_learns_an_informative_feature_and_not_noise() -> None:
    from csmoe.evaluation.classification import linear_probe

    rng = np.random.default_rng(0)
    labels = rng.random((500, 19)) < 0.3
    informative = labels + rng.normal(scale=0.3, size=labels.shape)
    noise = rng.normal(size=labels.shape)
    parts = [slice(0, 300), slice(300, 400), slice(400, 500)]  # train, validation, test

    def probe(x):
        return linear_probe(*(a for p in parts for a in (x[p], labels[p])))

    good, bad = probe(informative), probe(noise)
    assert good["micro_map"] > 0.95 and good["macro_f1"] > 0.9
    assert bad["micro_map"] < 0.45 and good["classes"] == 19
    assert good["selected"]["C"] in C_GRID and good["selected"]["validation_score"] > 0.95


def test_probe_regularisation_is_selected_on_the_validation_split() -> None:
    """The policy of both BigEarthNet and GEO-Bench probes: the C with the best validation
    score, whichever C the test split would have preferred."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    x = np.eye(3)[y] + rng.normal(scale=1.5, size=(300, 3))
    x = np.hstack([x, rng.normal(size=(300, 40))])  # many noise dimensions: C matters
    outputs, selected = selected_probe((x[:60], y[:60]), (x[60:180], y[60:180]), x[180:],
                                       multi_label=False)  # fmt: skip
    scores = {}
    for c in C_GRID:
        scores[c] = average_accuracy(y[60:180], probe_classes(x[:60], y[:60], x[60:180], c=c))
    best = max(C_GRID, key=lambda c: (scores[c], -c))
    assert selected == {"C": best, "validation_score": scores[best]}
    assert outputs.shape == (120,)
