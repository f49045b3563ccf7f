"""The comparisons the study is about, and a verdict for each of its four claims.

Comparisons (each a difference of means over runs, with its paired 95 % bootstrap
interval; `statistics.Bootstrap`): thematic-climatic minus random (per model), CSMoE
minus CSMAE (per sampler), pretrained minus the same architecture with random weights,
and each encoder minus per-band statistics, on `COMPARED` metrics.

Claims and the rule that decides each verdict (written beside each claim in ``claims.md``):

(a) CSMoE costs well under a dense encoder of the same token count: GMAC is exact (no
    sampling noise). Supported when CSMoE / dense <= `WELL_UNDER`; contradicted when
    >= 1; otherwise "partly supported" (cheaper, not well under).
(b) CSMoE's quality stays close to the dense CSMAE (S2 micro mAP, non-inferiority with
    margin `MARGIN`): supported when the interval of CSMoE - CSMAE lies above -MARGIN;
    contradicted when it lies below -MARGIN; otherwise not distinguishable.
(c) the thematic-climatic training set beats a random one of the same size (S2 micro
    mAP): supported when the interval of the difference lies above 0; contradicted when
    below 0; otherwise not distinguishable.
(d) the Soft MoE experts specialise by sensor: supported when every CSMoE run has a MoE
    layer with p < 0.01 (Bonferroni over its layers) and a divergence of at least
    `MIN_DIVERGENCE` bits; contradicted when every layer of every run diverges by less
    than `NO_DIVERGENCE` bits; otherwise not distinguishable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from csmoe.study import markdown
from csmoe.study.statistics import BASELINE, Bootstrap, Evaluation

COMPARED = ("cls_s2_micro_map", "cls_s1_micro_map", "seg_miou", "ret_s1_to_s2_f1@10")
PRIMARY = "cls_s2_micro_map"
WELL_UNDER = 0.75
MARGIN = 0.02
ALPHA = 0.01
MIN_DIVERGENCE = 0.01
NO_DIVERGENCE = 0.001
SUPPORTED, UNCLEAR, CONTRADICTED = "supported", "not distinguishable", "contradicted"
PARTLY = "partly supported"

Groups = dict[tuple[str, str, str], list[Evaluation]]


@dataclass(frozen=True)
class Pair:
    claim: str  # "b", "c" or "" (a comparison outside the four claims)
    label: str
    first: tuple[str, str, str]
    second: tuple[str, str, str]


def _pretrained(groups: Groups) -> list[tuple[str, str, str]]:
    return [key for key in groups if key[1] != BASELINE]


def _is_moe(groups: Groups, key) -> bool:
    return groups[key][0].is_moe


def pairs(groups: Groups) -> list[Pair]:
    found = []
    keys = _pretrained(groups)
    for archive, sampler, model in keys:
        random_key = (archive, "random", model)
        if sampler == "thematic_climatic" and random_key in groups:
            label = f"{model}: thematic_climatic − random"
            found.append(Pair("c", label, (archive, sampler, model), random_key))
    for key in keys:
        if not _is_moe(groups, key):
            continue
        for other in keys:
            if other[:2] == key[:2] and not _is_moe(groups, other):
                found.append(Pair("b", f"{key[1]}: {key[2]} − {other[2]}", key, other))
    for key in keys:
        archive, sampler, model = key
        for baseline, name in (((archive, BASELINE, f"random_init_{model}"), "random weights"),
                               ((archive, BASELINE, "band_stats"), "band statistics")):  # fmt: skip
            if baseline in groups:
                found.append(Pair("", f"{sampler} {model} − {name}", key, baseline))
    return found


def comparisons(groups: Groups, bootstrap: Bootstrap) -> pd.DataFrame:
    rows = []
    for pair in pairs(groups):
        for metric in COMPARED:
            result = bootstrap.compare(groups[pair.first], groups[pair.second], metric)
            if result is not None:
                rows.append({"claim": pair.claim, "comparison": pair.label, "metric": metric}
                            | result)  # fmt: skip
    return pd.DataFrame(rows, columns=["claim", "comparison", "metric", "difference", "low",
                                       "high"])  # fmt: skip


# ------------------------------------------------------------------------ verdicts
METRIC_NAMES = {
    "cls_s2_micro_map": "S2 micro mAP",
    "cls_s1_micro_map": "S1 micro mAP",
    "seg_miou": "segmentation mIoU",
    "ret_s1_to_s2_f1@10": "S1→S2 retrieval F1@10",
}
SHOWN = {"thematic_climatic": "thematic-climatic"}


def _sides(label: str) -> tuple[str, str]:
    """The two sides of a comparison label ("csmoe_tiny: thematic_climatic − random")."""
    first, second = label.split(": ", 1)[-1].split(" − ")
    return SHOWN.get(first, first), SHOWN.get(second, second)


def _interval_outcome(low: float, high: float, threshold: float) -> str:
    if low > threshold:
        return SUPPORTED
    if high < threshold:
        return CONTRADICTED
    return UNCLEAR


def _bound(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def difference_verdict(label: str, low: float, high: float, threshold: float = 0.0) -> str:
    """One verdict for one comparison, with the rule that gives it.

    Against 0: which side is better, or not distinguishable. Against a negative
    non-inferiority margin: the first side at most that much worse, or worse by more."""
    first, second = _sides(label)
    where = _bound(threshold)
    outcome = _interval_outcome(low, high, threshold)
    if outcome == UNCLEAR:
        return f"**not distinguishable** (95 % interval contains {where})"
    side = "above" if outcome == SUPPORTED else "below"
    if threshold == 0:
        winner = first if outcome == SUPPORTED else second
        return f"**{winner} better** (95 % interval of the difference {side} 0)"
    margin = _bound(-threshold)
    if outcome == SUPPORTED:
        return f"**{first} at most {margin} worse than {second}** (95 % interval {side} {where})"
    return f"**{first} worse than {second} by more than {margin}** (95 % interval {side} {where})"


def _effect(row, metric: str | None = None) -> str:
    name = METRIC_NAMES.get(metric or row.metric, metric or row.metric)
    return (f"{row.comparison}, {name}: {row.difference:+.3f} "
            f"[{row.low:+.3f}, {row.high:+.3f}]").replace("-", "−")  # fmt: skip


def cost_claim(groups: Groups) -> list[dict]:
    out = []
    for pair in pairs(groups):
        if pair.claim != "b":
            continue
        moe, dense = (groups[k][0].metrics["efficiency"]["gmac"] for k in (pair.first, pair.second))
        ratio = moe / dense
        if ratio <= WELL_UNDER:
            outcome, verdict = (
                SUPPORTED,
                f"**CSMoE well under the dense cost** (ratio ≤ {WELL_UNDER})",
            )
        elif ratio >= 1:
            outcome, verdict = CONTRADICTED, "**CSMoE not cheaper** (ratio ≥ 1)"
        else:
            outcome = PARTLY
            verdict = f"**CSMoE cheaper, not well under** ({WELL_UNDER} < ratio < 1)"
        models = f"{pair.first[2]} / {pair.second[2]}"
        out.append({"effect": f"{models}: {moe:.3f} / {dense:.3f} GMAC = {ratio:.2f}",
                    "verdict": verdict, "outcome": outcome, "key": models})  # fmt: skip
    unique = {row["key"]: row for row in out}  # the same models on every sampler
    return list(unique.values())


def difference_claim(table: pd.DataFrame, claim: str, threshold: float) -> list[dict]:
    rows = table[(table["claim"] == claim) & (table["metric"] == PRIMARY)]
    return [{"effect": _effect(r), "verdict": difference_verdict(r.comparison, r.low, r.high,
                                                                   threshold),
             "outcome": _interval_outcome(r.low, r.high, threshold)}
            for r in rows.itertuples()]  # fmt: skip


def significant(table: pd.DataFrame, chosen) -> list[dict]:
    """The rows of `table` picked by the boolean `chosen` whose 95 % interval lies
    wholly above or below 0, each with its verdict."""
    rows = table[chosen & ((table["low"] > 0) | (table["high"] < 0))]
    return [{"effect": _effect(r), "verdict": difference_verdict(r.comparison, r.low, r.high)}
            for r in rows.itertuples()]  # fmt: skip


def expert_claim(groups: Groups) -> list[dict]:
    out = []
    for key in _pretrained(groups):
        for run in groups[key]:
            layers = run.metrics.get("experts") or []
            if not layers:
                continue
            strongest = max(layers, key=lambda layer: layer["divergence_bits"])
            passing = [layer for layer in layers if layer["p_value"] < ALPHA / len(layers)
                       and layer["divergence_bits"] >= MIN_DIVERGENCE]  # fmt: skip
            flat = all(layer["divergence_bits"] < NO_DIVERGENCE for layer in layers)
            if passing:
                outcome = SUPPORTED
                verdict = (f"**specialised by sensor** (a layer with p < {ALPHA} / "
                           f"{len(layers)} layers and ≥ {MIN_DIVERGENCE} bits)")  # fmt: skip
            elif flat:
                outcome = CONTRADICTED
                verdict = f"**not specialised** (every layer below {NO_DIVERGENCE} bits)"
            else:
                outcome = UNCLEAR
                verdict = (f"**not distinguishable** (no layer with p < {ALPHA} / "
                           f"{len(layers)} and ≥ {MIN_DIVERGENCE} bits, not all below "
                           f"{NO_DIVERGENCE} bits)")  # fmt: skip
            seed = "" if run.seed is None else f" seed {run.seed}"
            out.append({"effect": f"{key[2]} on {key[1]}{seed}: largest divergence "
                                  f"{strongest['divergence_bits']:.2g} bits (layer "
                                  f"{strongest['layer'] + 1}, p = {strongest['p_value']:.3g})",
                        "verdict": verdict, "outcome": outcome})  # fmt: skip
    return out


def overall(rows: list[dict], noun: str = "comparison") -> str:
    """How many comparisons (or runs) of a claim support it, contradict it or cannot tell."""
    if not rows:
        return "not measured (no such runs in this study)"
    counts = {outcome: sum(row["outcome"] == outcome for row in rows)
              for outcome in (SUPPORTED, PARTLY, CONTRADICTED, UNCLEAR)}  # fmt: skip
    words = {SUPPORTED: ("supports it", "support it"),
             PARTLY: ("partly supports it", "partly support it"),
             CONTRADICTED: ("contradicts it", "contradict it"),
             UNCLEAR: ("not distinguishable", "not distinguishable")}  # fmt: skip
    if counts[SUPPORTED] == len(rows):
        head = SUPPORTED
    elif counts[CONTRADICTED] == len(rows):
        head = CONTRADICTED
    elif counts[UNCLEAR] == len(rows):
        head = "not decided at this scale"
    else:
        head = "not decided: the comparisons disagree"
    parts = [f"{count} {words[outcome][count > 1]}" for outcome, count in counts.items() if count]
    total = f"{len(rows)} {noun}" + ("s" if len(rows) > 1 else "")
    return f"{head} ({total}: " + ", ".join(parts) + ")"


CLAIMS = {
    "a": "CSMoE costs well under a dense encoder of the same token count",
    "b": "CSMoE's downstream quality stays close to the dense CSMAE",
    "c": "the thematic-climatic training set beats a random one of the same size",
    "d": "the Soft MoE experts specialise by sensor",
}

RULES = {
    "a": f"GMAC of one S2 encoder pass, exact (no interval): supported when CSMoE / dense ≤ "
         f"{WELL_UNDER}, contradicted when ≥ 1, otherwise partly supported.",
    "b": f"S2 micro mAP of CSMoE − CSMAE, non-inferiority margin {MARGIN}: supported when "
         f"the 95 % interval lies above −{MARGIN}, contradicted when below −{MARGIN}, "
         f"otherwise not distinguishable.",
    "c": "S2 micro mAP of thematic-climatic − random: supported when the 95 % interval "
         "lies above 0, contradicted when below 0, otherwise not distinguishable.",
    "d": f"per CSMoE run, permutation test of the sensor labels of test tokens: supported "
         f"when a MoE layer has p < {ALPHA} (Bonferroni over its layers) and a divergence of "
         f"at least {MIN_DIVERGENCE} bits; contradicted when no layer diverges by "
         f"{NO_DIVERGENCE} bits; otherwise not distinguishable.",
}  # fmt: skip

INTRODUCTION = """Each comparison is a difference of means over pretraining seeds
(first minus second) with its paired 95 % percentile bootstrap interval over test patches
(retrieval: queries). Its verdict follows from where that interval lies, and the rule is
written beside it (`csmoe/study/claims.py`). Under each claim, every other metric of its
comparisons whose interval excludes 0 is listed, either way; the comparisons against
the baselines close the page. All comparisons are in `comparisons.csv`."""


def claims(groups: Groups, table: pd.DataFrame) -> list[tuple[str, str, list[dict]]]:
    """(letter, claim, rows of effect, verdict and outcome) for the four claims."""
    found = {"a": cost_claim(groups), "b": difference_claim(table, "b", -MARGIN),
             "c": difference_claim(table, "c", 0.0), "d": expert_claim(groups)}  # fmt: skip
    return [(letter, CLAIMS[letter], found[letter]) for letter in CLAIMS]


def _items(rows: list[dict]) -> list[str]:
    return [f"- {row['effect']} → {row['verdict']}" for row in rows]


def claims_markdown(found: list[tuple[str, str, list[dict]]], table: pd.DataFrame) -> str:
    """The claims page: per claim its outcome, rule and one verdict per comparison, the
    other significant metrics of its comparisons, then the baselines' comparisons."""
    lines = ["# Claims of the study and what the data show", "", INTRODUCTION]
    for letter, claim, rows in found:
        outcome = overall(rows, "run" if letter == "d" else "comparison")
        lines += ["", f"## ({letter}) {claim}", "", f"**Outcome: {outcome}.**", "",
                  f"Rule: {RULES[letter]}", ""]  # fmt: skip
        lines += _items(rows) or ["- no such runs in this study"]
        if letter in "bc" and rows:
            chosen = (table["claim"] == letter) & (table["metric"] != PRIMARY)
            others = significant(table, chosen)
            lines += ["", f"Other metrics of these comparisons with an interval that excludes "
                      f"0 ({len(others)} of {int(chosen.sum())}):", ""]  # fmt: skip
            lines += _items(others) or ["- none: every interval contains 0"]
    chosen = table["claim"] == ""
    rest = significant(table, chosen)
    lines += ["", "## Pretrained encoders against the baselines", "",
              f"Comparisons with an interval that excludes 0: {len(rest)} of "
              f"{int(chosen.sum())} (random weights of the same architecture, per-band "
              f"statistics).", ""]  # fmt: skip
    lines += _items(rest) or ["- none: every interval contains 0"]
    return "\n".join(lines) + "\n"


def claims_html(text: str) -> str:
    """The Markdown of `claims_markdown` as a self-contained HTML page."""
    return markdown.to_html(text, "Claims of the study")
