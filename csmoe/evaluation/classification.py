"""Scene classification with a frozen linear probe, and the one probe policy of the study.

Probe policy (BigEarthNet evaluation and GEO-Bench alike): a linear head on standardised
frozen features is fitted on the probe-training split once per L2 regularisation
strength C in `C_GRID`; the C with the best validation score is kept (ties: the stronger
regularisation, i.e. the smaller C), and its test score is reported.

- multi-label (BigEarthNet-19, m-bigearthnet): one logistic regression per class (a class
  with one value only in the training split gets that value's frequency as its constant
  score); selected on validation micro mAP. Test metrics: micro and macro average
  precision over the classes present in the test split, micro / macro F1 at a
  probability threshold of 0.5.
- single-label (GEO-Bench): one multinomial logistic regression; selected on average
  accuracy (mean per-class recall).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

C_GRID = (0.01, 0.1, 1.0, 10.0)


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


def probe_classes(train_x, train_y, test_x, c: float = 1.0, seed: int = 0) -> np.ndarray:
    """(test samples,) classes predicted by one multinomial linear probe."""
    scaler = StandardScaler().fit(train_x)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return model.fit(scaler.transform(train_x), train_y).predict(scaler.transform(test_x))


def micro_map(y_true: np.ndarray, scores: np.ndarray) -> float:
    present = y_true.sum(axis=0) > 0
    return float(average_precision_score(y_true[:, present], scores[:, present], average="micro"))


def average_accuracy(y_true: np.ndarray, predicted: np.ndarray) -> float:
    with warnings.catch_warnings():  # a class predicted but absent from a small split
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y_true, predicted))


def selected_probe(train, valid, test_x, *, multi_label: bool, seed: int = 0):
    """The probe policy: `train` and `valid` are (features, labels). Returns the test
    outputs (scores, or predicted classes) of the best validation C, and the selection
    (``C``, ``validation_score``)."""
    fit = probe_scores if multi_label else probe_classes
    metric = micro_map if multi_label else average_accuracy
    held_out = np.concatenate([valid[0], test_x])
    best = None
    for c in C_GRID:
        out = fit(train[0], train[1], held_out, c=c, seed=seed)
        score = metric(valid[1], out[: len(valid[0])])
        if best is None or score > best[0]:  # ties keep the smaller C, tried first
            best = (score, c, out[len(valid[0]) :])
    return best[2], {"C": best[1], "validation_score": best[0]}


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


def linear_probe(train_x, train_y, valid_x, valid_y, test_x, test_y, seed: int = 0) -> dict:
    """BigEarthNet-19 multi-label probe under the probe policy: test metrics and the
    selected C with its validation micro mAP."""
    scores, selected = selected_probe((train_x, train_y), (valid_x, valid_y), test_x,
                                      multi_label=True, seed=seed)  # fmt: skip
    return multilabel_metrics(test_y, scores) | {"selected": selected}
