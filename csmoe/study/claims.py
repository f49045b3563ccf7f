"""The comparisons the study is about, and a verdict for each of its four claims.

Comparisons (each a difference of means over runs, with its paired 95 % bootstrap
interval; `statistics.Bootstrap`): thematic-climatic minus random (per model), CSMoE
minus CSMAE (per sampler), pretrained minus the same architecture with random weights,
and each encoder minus per-band statistics, on `COMPARED` metrics.

Claims and the rule that decides each verdict (written at the top of ``claims.md``):

(a) CSMoE costs well under a dense encoder of the same token count: GMAC is exact (no
    sampling noise). Supported when CSMoE / dense <= `WELL_UNDER`; contradicted when
    >= 1; otherwise "partly supported" (cheaper, not well under).
(b) CSMoE's quality stays close to the dense CSMAE (S2 micro mAP, non-inferiority with
    margin `MARGIN`): supported when the interval of CSMoE - CSMAE lies above -MARGIN;
    contradicted when it lies below -MARGIN; otherwise not distinguishable at this scale.
(c) the thematic-climatic training set beats a random one of the same size (S2 micro
    mAP): supported when the interval of the difference lies above 0; contradicted when
    below 0; otherwise not distinguishable at this scale.
(d) the Soft MoE experts specialise by sensor: supported when every CSMoE run has a MoE
    layer with p < 0.01 (Bonferroni over its layers) and a divergence of at least
    `MIN_DIVERGENCE` bits; contradicted when every layer of every run diverges by less
    than `NO_DIVERGENCE` bits; otherwise not distinguishable at this scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from csmoe.study.statistics import BASELINE, Bootstrap, Evaluation

COMPARED = ("cls_s2_micro_map", "cls_s1_micro_map", "seg_miou", "ret_s1_to_s2_f1@10")
PRIMARY = "cls_s2_micro_map"
WELL_UNDER = 0.75
MARGIN = 0.02
ALPHA = 0.01
MIN_DIVERGENCE = 0.01
NO_DIVERGENCE = 0.001
SUPPORTED, UNCLEAR, CONTRADICTED = "supported", "not distinguishable at this scale", "contradicted"

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
def _interval_verdict(low: float, high: float, threshold: float) -> str:
    if low > threshold:
        return SUPPORTED
    if high < threshold:
        return CONTRADICTED
    return UNCLEAR


def cost_claim(groups: Groups) -> list[dict]:
    out = []
    for pair in pairs(groups):
        if pair.claim != "b":
            continue
        moe, dense = (groups[k][0].metrics["efficiency"]["gmac"] for k in (pair.first, pair.second))
        ratio = moe / dense
        verdict = SUPPORTED if ratio <= WELL_UNDER else CONTRADICTED if ratio >= 1 else (
            "partly supported (cheaper, not well under)")  # fmt: skip
        models = f"{pair.first[2]} / {pair.second[2]}"
        out.append({"effect": f"{models}: {moe:.3f} / {dense:.3f} GMAC = {ratio:.2f}",
                    "verdict": verdict, "key": models})  # fmt: skip
    unique = {row["key"]: row for row in out}  # the same models on every sampler
    return list(unique.values())


def difference_claim(table: pd.DataFrame, claim: str, threshold: float) -> list[dict]:
    rows = table[(table["claim"] == claim) & (table["metric"] == PRIMARY)]
    return [
        {"effect": f"{r.comparison}: S2 micro mAP {r.difference:+.3f} "
                   f"[{r.low:+.3f}, {r.high:+.3f}]",
         "verdict": _interval_verdict(r.low, r.high, threshold)}
        for r in rows.itertuples()
    ]  # fmt: skip


def expert_claim(groups: Groups) -> list[dict]:
    out = []
    for key in _pretrained(groups):
        for run in groups[key]:
            layers = run.metrics.get("experts") or []
            if not layers:
                continue
            strongest = max(layers, key=lambda layer: layer["divergence_bits"])
            significant = [layer for layer in layers if layer["p_value"] < ALPHA / len(layers)
                           and layer["divergence_bits"] >= MIN_DIVERGENCE]  # fmt: skip
            flat = all(layer["divergence_bits"] < NO_DIVERGENCE for layer in layers)
            verdict = SUPPORTED if significant else CONTRADICTED if flat else UNCLEAR
            seed = "" if run.seed is None else f" seed {run.seed}"
            out.append({"effect": f"{key[2]} on {key[1]}{seed}: largest divergence "
                                  f"{strongest['divergence_bits']:.2g} bits (layer "
                                  f"{strongest['layer'] + 1}, p = {strongest['p_value']:.3g})",
                        "verdict": verdict})  # fmt: skip
    return out


def overall(rows: list[dict]) -> str:
    verdicts = {row["verdict"] for row in rows}
    if not rows:
        return "not measured (no such runs)"
    if verdicts == {SUPPORTED}:
        return SUPPORTED
    if verdicts == {CONTRADICTED}:
        return CONTRADICTED
    if len(verdicts) == 1:
        return verdicts.pop()
    return "mixed: " + ", ".join(sorted(verdicts))


CLAIMS = {
    "a": "CSMoE costs well under a dense encoder of the same token count",
    "b": "CSMoE's downstream quality stays close to the dense CSMAE",
    "c": "the thematic-climatic training set beats a random one of the same size",
    "d": "the Soft MoE experts specialise by sensor",
}

RULES = f"""Verdict rules (95 % percentile bootstrap intervals over test patches, means over
pretraining seeds; `csmoe/study/claims.py`):

- (a) GMAC of one S2 pass is exact: supported when CSMoE / dense <= {WELL_UNDER}, contradicted
  when >= 1, otherwise partly supported (cheaper, not well under).
- (b) S2 micro mAP, non-inferiority margin {MARGIN}: supported when the interval of
  CSMoE − CSMAE lies above −{MARGIN}, contradicted when it lies below −{MARGIN},
  otherwise not distinguishable at this scale.
- (c) S2 micro mAP: supported when the interval of thematic-climatic − random lies above
  0, contradicted when below 0, otherwise not distinguishable at this scale.
- (d) per CSMoE run: supported when a MoE layer has p < {ALPHA} (Bonferroni over its
  layers; permutation test of the sensor labels of test tokens) and a divergence of at
  least {MIN_DIVERGENCE} bits; contradicted when no layer diverges by {NO_DIVERGENCE} bits;
  otherwise not distinguishable at this scale.
"""


def claims(groups: Groups, table: pd.DataFrame) -> list[tuple[str, str, list[dict]]]:
    """(letter, claim, rows of effect and verdict) for the four claims."""
    found = {"a": cost_claim(groups), "b": difference_claim(table, "b", -MARGIN),
             "c": difference_claim(table, "c", 0.0), "d": expert_claim(groups)}  # fmt: skip
    return [(letter, CLAIMS[letter], found[letter]) for letter in CLAIMS]


def claims_markdown(found: list[tuple[str, str, list[dict]]]) -> str:
    lines = ["# Claims of the study and what the data show", "", RULES]
    for letter, claim, rows in found:
        lines.append(f"- **({letter}) {claim}: {overall(rows)}.** " + "; ".join(
            f"{row['effect']} → {row['verdict']}" for row in rows) if rows else
            f"- **({letter}) {claim}: not measured** (no such runs in this study).")  # fmt: skip
    return "\n".join(lines) + "\n"


def claims_html(text: str) -> str:
    """The Markdown of `claims_markdown` as a small self-contained HTML page."""
    import html

    body = []
    for line in text.splitlines():
        escaped = html.escape(line)
        while "**" in escaped:
            escaped = escaped.replace("**", "<b>", 1).replace("**", "</b>", 1)
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith(("- ", "  ")):
            body.append(f"<p style='margin-left:1em'>{escaped}</p>")
        elif line:
            body.append(f"<p>{escaped}</p>")
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Claims</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")  # fmt: skip
