"""Scene classification, BigEarthNet-19 multi-label, with a frozen linear probe.

One logistic regression per class (scikit-learn, L2, standardised features) is fitted on
the probe-training split and scored on the test split. Metrics: micro and macro average
precision (mAP) over the classes present in the test split, and micro / macro F1 at a
probability threshold of 0.5. A class with one value only in the training split gets
that value's frequency as its constant score.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.preprocessing import StandardScaler


def probe_scores(train_x, train_y, test_x, c: float = 1.0, seed: int = 0) -> np.ndarray:
    """(test samples, classes) probabilities of a linear probe per class."""
    scaler = StandardScaler().fit(train_x)
    train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
    scores = np.empty((len(test_x), train_y.shape[1]))
    for c_index in range(train_y.shape[1]):
        target = train_y[:, c_index]
        if target.min() == target.max():
            scores[:, c_index] = target.mean()
            continue
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        scores[:, c_index] = model.fit(train_x, target).predict_proba(test_x)[:, 1]
    return scores


def multilabel_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict:
    present = y_true.sum(axis=0) > 0
    y, s = y_true[:, present], scores[:, present]
    predicted = s >= 0.5
    return {
        "micro_map": float(average_precision_score(y, s, average="micro")),
        "macro_map": float(average_precision_score(y, s, average="macro")),
        "micro_f1": float(f1_score(y, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "classes": int(present.sum()),
        "test_samples": len(y),
    }


def linear_probe(train_x, train_y, test_x, test_y, seed: int = 0) -> dict:
    return multilabel_metrics(test_y, probe_scores(train_x, train_y, test_x, seed=seed))
