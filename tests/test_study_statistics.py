"""Bootstrap intervals against an independent loop over resampled data, and the expert
specialisation permutation test on constructed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score

from csmoe.evaluation.experts import permutation_test
from csmoe.study import bootstrap as bs

RESAMPLES = 200


def loop_interval(metric, n: int, seed: int) -> tuple[float, float]:
    """The definition: draw n items with replacement, compute the metric on the copy."""
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, n, size=n)) for _ in range(RESAMPLES)]
    return bs.interval(np.array(values))


def present(y: np.ndarray) -> np.ndarray:
    return y.sum(axis=0) > 0


def sklearn_micro_map(y, s, idx):
    keep = present(y[idx])
    return average_precision_score(y[idx][:, keep], s[idx][:, keep], average="micro")


def sklearn_macro_map(y, s, idx):
    keep = present(y[idx])
    return average_precision_score(y[idx][:, keep], s[idx][:, keep], average="macro")


def sklearn_f1(y, s, idx, average):
    keep = present(y[idx])
    return f1_score(y[idx][:, keep], s[idx][:, keep] >= 0.5, average=average, zero_division=0)


@pytest.fixture(scope="module")
def multilabel():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 7)) < 0.25).astype(np.uint8)
    y[:, 6] = 0
    y[3, 6] = 1  # a rare class: absent from many resamples
    scores = np.clip(y * 0.3 + rng.random(y.shape) * 0.7, 0, 1)
    scores[::5] = np.round(scores[::5], 1)  # ties
    return y, scores


@pytest.mark.parametrize(
    "name, ours, reference",
    [("micro mAP", bs.micro_map, sklearn_micro_map),
     ("macro mAP", bs.macro_map, sklearn_macro_map),
     ("micro F1", bs.micro_f1, lambda y, s, i: sklearn_f1(y, s, i, "micro")),
     ("macro F1", bs.macro_f1, lambda y, s, i: sklearn_f1(y, s, i, "macro"))],
)  # fmt: skip
def test_classification_intervals_match_a_loop_over_resampled_copies(
    multilabel, name, ours, reference
) -> None:
    y, scores = multilabel
    n = len(y)
    weights = bs.resample_weights(n, RESAMPLES, seed=3)
    fast = bs.interval(ours(y, scores, weights))
    slow = loop_interval(lambda idx: reference(y, scores, idx), n, seed=3)
    assert fast == pytest.approx(slow, abs=1e-9), name
    full = ours(y, scores, np.ones((1, n)))[0]
    assert full == pytest.approx(reference(y, scores, np.arange(n)), abs=1e-12)


def test_weighted_average_precision_is_sklearns_with_sample_weights(multilabel) -> None:
    y, scores = multilabel
    weights = bs.resample_weights(len(y), 5, seed=1)
    ours = bs.weighted_average_precision(y[:, 0], scores[:, 0], weights)
    for row, value in zip(weights, ours, strict=True):
        assert value == pytest.approx(
            average_precision_score(y[:, 0], scores[:, 0], sample_weight=row), abs=1e-12
        )


def test_segmentation_and_retrieval_intervals_match_loops() -> None:
    rng = np.random.default_rng(2)
    n, classes = 40, 5
    true = rng.integers(0, 50, (n, classes))
    pred = rng.integers(0, 50, (n, classes))
    inter = np.minimum(true, pred) // 2
    true[:, 4] = 0
    true[7, 4] = 9  # a class seen in one patch only

    def loop_miou(idx):
        i, p, t = inter[idx].sum(0), pred[idx].sum(0), true[idx].sum(0)
        union = p + t - i
        return np.mean([a / u for a, u in zip(i, union, strict=True) if u > 0])

    weights = bs.resample_weights(n, RESAMPLES, seed=5)
    assert bs.interval(bs.miou(inter, pred, true, weights)) == pytest.approx(
        loop_interval(loop_miou, n, seed=5), abs=1e-12
    )
    precision, recall, ap = rng.random((3, n))

    def loop_f1(idx):
        p, r = precision[idx].mean(), recall[idx].mean()
        return 2 * p * r / (p + r)

    assert bs.interval(bs.retrieval_f1(precision, recall, weights)) == pytest.approx(
        loop_interval(loop_f1, n, seed=5), abs=1e-12
    )
    assert bs.interval(bs.mean(ap, weights)) == pytest.approx(
        loop_interval(lambda idx: ap[idx].mean(), n, seed=5), abs=1e-12
    )


def test_intervals_cover_the_truth_of_a_known_mean() -> None:
    """A bootstrap interval of a mean of n = 400 draws holds the true mean about 95 % of
    the time (binomial tolerance over 60 experiments)."""
    hits = 0
    for experiment in range(60):
        values = np.random.default_rng(experiment).normal(1.0, 2.0, 400)
        low, high = bs.interval(bs.mean(values, bs.resample_weights(400, 400, experiment)))
        hits += low <= 1.0 <= high
    assert 50 <= hits <= 60


# ------------------------------------------------------------------ specialisation
def shares(rng: np.random.Generator, tokens: int, favoured: int, strength: float):
    logits = rng.normal(size=(tokens, 4))
    logits[:, favoured] += strength
    values = np.exp(logits)
    return values / values.sum(axis=1, keepdims=True)


def test_experts_that_differ_by_sensor_give_a_small_p_value() -> None:
    rng = np.random.default_rng(0)
    result = permutation_test(shares(rng, 300, 0, 1.0), shares(rng, 300, 3, 1.0), seed=1)
    assert result["p_value"] < 0.01 and result["divergence_bits"] > 0.01
    assert result["tokens"] == {"s1": 300, "s2": 300} and len(result["s1"]) == 4


def test_experts_used_alike_give_a_large_p_value() -> None:
    rng = np.random.default_rng(0)
    same = shares(rng, 300, 1, 1.0)
    identical = permutation_test(same, same.copy(), seed=1)
    assert identical["divergence_bits"] == 0 and identical["p_value"] > 0.1
    alike = permutation_test(shares(rng, 300, 1, 1.0), shares(rng, 300, 1, 1.0), seed=1)
    assert alike["p_value"] > 0.1


def _comparisons() -> pd.DataFrame:
    rows = [
        ("c", "csmoe_tiny: thematic_climatic − random", "cls_s2_micro_map", 0.004, -0.01, 0.02),
        ("c", "csmoe_tiny: thematic_climatic − random", "ret_s1_to_s2_f1@10", -0.014, -0.025,
         -0.004),
        ("c", "csmae_tiny: thematic_climatic − random", "cls_s2_micro_map", 0.03, 0.01, 0.05),
        ("c", "csmae_tiny: thematic_climatic − random", "seg_miou", 0.001, -0.002, 0.004),
        ("b", "random: csmoe_tiny − csmae_tiny", "cls_s2_micro_map", -0.03, -0.05, -0.025),
        ("b", "random: csmoe_tiny − csmae_tiny", "cls_s1_micro_map", 0.02, 0.01, 0.03),
        ("", "random csmoe_tiny − band statistics", "cls_s2_micro_map", 0.1, 0.08, 0.12),
        ("", "random csmoe_tiny − random weights", "seg_miou", 0.0, -0.01, 0.01),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["claim", "comparison", "metric", "difference", "low",
                                       "high"])  # fmt: skip


def test_claims_give_one_verdict_per_comparison_with_its_rule() -> None:
    from csmoe.study.claims import claims, claims_markdown

    table = _comparisons()
    text = claims_markdown(claims({}, table), table)
    assert "mixed:" not in text and "at this scale" not in text
    assert (
        "csmae_tiny: thematic_climatic − random, S2 micro mAP: +0.030 [+0.010, +0.050] → "
        "**thematic-climatic better** (95 % interval of the difference above 0)"
    ) in text
    assert (
        "csmoe_tiny: thematic_climatic − random, S2 micro mAP: +0.004 [−0.010, +0.020] → "
        "**not distinguishable** (95 % interval contains 0)"
    ) in text
    assert (
        "**csmoe_tiny worse than csmae_tiny by more than 0.02** (95 % interval below −0.02)"
    ) in text
    assert (
        "**Outcome: not decided: the comparisons disagree (2 comparisons: 1 supports it, "
        "1 not distinguishable).**"
    ) in text
    assert "**Outcome: not measured (no such runs in this study).**" in text  # (a), (d)


def test_claims_list_every_metric_significant_either_way() -> None:
    from csmoe.study.claims import claims, claims_markdown

    table = _comparisons()
    text = claims_markdown(claims({}, table), table)
    # thematic-climatic significantly worse on S1->S2 F1@10 (the case), and
    # CSMoE better on S1 mAP: both listed, each with its verdict.
    assert (
        "csmoe_tiny: thematic_climatic − random, S1→S2 retrieval F1@10: −0.014 "
        "[−0.025, −0.004] → **random better** (95 % interval of the difference below "
        "0)"
    ) in text
    assert "random: csmoe_tiny − csmae_tiny, S1 micro mAP: +0.020 [+0.010, +0.030] → " \
           "**csmoe_tiny better**" in text  # fmt: skip
    assert "(1 of 2):" in text  # seg_miou of (c) holds 0: counted, not listed
    assert "seg_miou" not in text and "segmentation mIoU: +0.001" not in text
    assert "Comparisons with an interval that excludes 0: 1 of 2" in text
    assert "random csmoe_tiny − band statistics, S2 micro mAP" in text
    significant = table[(table["low"] > 0) | (table["high"] < 0)]
    for row in significant.itertuples():  # every significant row of comparisons.csv
        assert f"{row.comparison}, " in text and f"{row.difference:+.3f}".replace("-", "−") in text


def test_claims_page_renders_its_markdown_as_html() -> None:
    from html.parser import HTMLParser

    from csmoe.study.claims import claims, claims_html, claims_markdown

    table = _comparisons()
    text = claims_markdown(claims({}, table), table)
    page = claims_html(text)

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.texts: list[tuple[str, str]] = []

        def handle_starttag(self, tag, attrs) -> None:
            self.tags.append(tag)

        def handle_data(self, data) -> None:
            self.texts.append((self.tags[-1] if self.tags else "", data))

    parsed = Tags()
    parsed.feed(page)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert parsed.tags.count("li") == len(items) > 5
    assert parsed.tags.count("h2") == 5 and parsed.tags.count("h1") == 1
    assert parsed.tags.count("ul") == text.count("\n\n- ")
    assert "code" in parsed.tags and "<code>csmoe/study/claims.py</code>" in page
    body = page.split("<body>", 1)[1]
    assert "`" not in body and "**" not in body and "<p>- " not in body
    assert not any(data.lstrip().startswith("- ") for _, data in parsed.texts)
    # Paragraphs are joined: the introduction is one <p>, not one per source line.
    assert page.count("<p>Each comparison is a difference") == 1
    assert "first\nminus" not in page and "(first minus second)" in page


def test_markdown_escapes_and_reads_tables() -> None:
    from csmoe.study.markdown import to_html

    page = to_html("| a | `b` |\n|---|---|\n| <x> | **y** |\n", "t")
    assert "<th>a</th><th><code>b</code></th>" in page
    assert "<td>&lt;x&gt;</td><td><b>y</b></td>" in page


def test_every_study_table_column_has_a_meaning() -> None:
    from csmoe.study.statistics import METRICS
    from csmoe.study.table import FIXED_COLUMNS, column_key, column_meaning

    columns = [*FIXED_COLUMNS, *METRICS, *(f"{m}_{p}" for m in METRICS
                                           for p in ("low", "high", "seed_sd"))]  # fmt: skip
    assert all(column_meaning(column) for column in columns)
    meaning = column_meaning("cls_s1_macro_map")
    assert meaning.endswith("Sentinel-1 embeddings: macro mAP (average precision per class, "
                            "then the mean)")  # fmt: skip
    assert column_meaning("seg_miou_low") == ("lower end of the 95 % bootstrap interval of "
                                              "`seg_miou`")  # fmt: skip
    assert column_key(["gmac"]).splitlines()[-1].startswith("- `gmac`: giga multiply-accumulates")


def test_report_landing_text_walks_through_the_whole_study() -> None:
    """The report's first page: data, sampling, pretraining, evaluation and the study, as
    a list that docutils renders without a warning; captions render too."""
    from pathlib import Path

    import docutils.core

    folder = Path(__file__).parents[1] / "workflow" / "report"
    settings = {"report_level": 2, "halt_level": 2}
    text = (folder / "workflow.rst").read_text()
    parts = docutils.core.publish_parts(text, writer="html", settings_overrides=settings)
    page = parts["body"]
    items = page.split("<ol", 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    steps = ("Data", "Sampling", "Pretraining", "Evaluation", "Study")
    assert len(items) == len(steps)
    for item, step in zip(items, steps, strict=True):
        assert f"<strong>{step}</strong>" in item
    for word in ("thematic-climatic", "random", "CSMAE", "bootstrap", "claims page"):
        assert word in page, word
    for caption in ("study_claims.rst", "study_table.rst"):
        docutils.core.publish_parts((folder / caption).read_text(), writer="html",
                                    settings_overrides=settings)  # fmt: skip
