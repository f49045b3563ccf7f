"""The study's cost as README and docs/model.md state it, from config/study.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from csmoe.study import cost

ROOT = Path(__file__).parents[1]


def study() -> dict:
    return yaml.safe_load((ROOT / "config" / "study.yaml").read_text(encoding="utf-8"))


def test_runs_are_counted_from_the_config() -> None:
    config = study()
    pretrain = config["pretrain"]
    runs = cost.runs(config)
    expected = (len(pretrain["models"]) * len(pretrain["samplers"]) * len(pretrain["seeds"])
                * len(pretrain["archives"]))  # fmt: skip
    assert len(runs) == expected == 12
    assert {run.gpus for run in runs} == {4}
    assert {run.steps for run in runs} == {150 * (100_000 // 128)} == {117_150}
    by_model = {run.model: run for run in runs}
    assert by_model["csmae_b"].rate == 2940.0
    assert round(by_model["csmoe_b16"].rate) == round(2098.0 * 49.8 / 145.0) == 721
    assert round(by_model["csmae_b"].gpu_hours, 1) == 1.4
    assert round(by_model["csmoe_b16"].gpu_hours, 1) == 5.8
    assert round(sum(run.gpu_hours for run in runs)) == 43
    # A config override changes the count: one seed, one sampler.
    config["pretrain"]["seeds"], config["pretrain"]["samplers"] = [0], ["random"]
    assert len(cost.runs(config)) == 2


def test_readme_and_model_docs_state_the_study_cost() -> None:
    runs = cost.runs(study())
    by_model = {run.model: run for run in runs}
    total = round(sum(run.gpu_hours for run in runs))
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    model = " ".join((ROOT / "docs" / "model.md").read_text(encoding="utf-8").split())
    dense, moe = by_model["csmae_b"], by_model["csmoe_b16"]
    assert f"= **{len(runs)} pretraining runs**" in readme
    assert f"{dense.steps:,} steps" in readme and f"**{len(runs)} runs, each on" in model
    stated = (f"about **{dense.gpu_hours:.1f} GPU-hours per `csmae_b` run and "
              f"{moe.gpu_hours:.1f} per `csmoe_b16` run, {total} GPU-hours in all**")  # fmt: skip
    assert stated in readme
    assert f"**In all: about {total} GPU-hours**" in model
    for run in (dense, moe):
        row = f"| {run.rate:,.0f} |"
        assert row in model and f"| {run.gpu_hours:.1f} | {run.wall_hours:.2f} h |" in model
        same = [other for other in runs if other.model == run.model]
        assert f"h | {sum(other.gpu_hours for other in same):.1f} |" in model
    assert f"{dense.steps:,} steps**" in model and "NVIDIA H100 80GB" in readme
    assert cost.CARD in model
