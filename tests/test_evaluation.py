"""The evaluation stage: encoder API, evaluation manifests, the evaluate command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.models import create_model, load_encoder
from csmoe.sampling.splits import evaluation_manifest


def test_forward_intermediates_end_in_the_features() -> None:
    torch.manual_seed(0)
    encoder = create_model("csmoe_tiny", variant="SECD").encoder.eval()
    x = torch.randn(2, 2, 120, 120)
    first, last = encoder.forward_intermediates(x, "s1", [0, -1], norm=True)
    assert first.shape == last.shape == (2, 192, 8, 8)
    tokens = encoder.forward_features(x, "s1")
    torch.testing.assert_close(last.flatten(2).transpose(1, 2), tokens[:, 1:])
    assert not torch.allclose(first, last)
    pooled = encoder.fc_norm(last.flatten(2).mean(dim=2))
    torch.testing.assert_close(pooled, encoder.embedding(x, "s1"))


def test_load_encoder_restores_weights_and_description(exported: Path) -> None:
    encoder = load_encoder(exported)
    assert encoder.description["moe"]["slots"] == 24 and not encoder.training
    torch.manual_seed(1)
    again = create_model("csmoe_tiny").encoder.eval()
    x = torch.randn(1, 10, 120, 120)
    torch.testing.assert_close(encoder.embedding(x, "s2"), again.embedding(x, "s2"))


def split_args(shards: Path, eval_splits: dict[str, Path]) -> list[str]:
    return ["--train", str(shards), "--queries", str(eval_splits["queries"]),
            "--test", str(eval_splits["test"])]  # fmt: skip


@pytest.mark.parametrize("features", ["pretrained", "random_init", "band_stats"])
def test_evaluate_writes_every_task(shards, eval_splits, exported, tmp_path, features) -> None:
    args = ["evaluate", "--features", features, "--encoder", str(exported),
            *split_args(shards, eval_splits), "--segmentation-epochs", "2",
            "--finetune-epochs", "1", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["samples"] == {"train": 20, "validation": 8, "test": 12}
    tuned = {"s2_finetuned"} if features != "band_stats" else set()
    assert set(metrics["classification"]) == {"s1", "s2"} | tuned
    assert 0 <= metrics["classification"]["s2"]["micro_map"] <= 1 + 1e-9
    directions = {"s1->s1", "s2->s2"} | (
        {"s1->s2", "s2->s1"} if features != "band_stats" else set()
    )
    assert set(metrics["retrieval"]) == directions
    assert set(metrics["retrieval"]["s2->s2"]) == {"5", "10"}
    assert metrics["classification"]["s2"]["selected"]["C"] > 0  # chosen on validation
    if features == "band_stats":
        assert metrics["segmentation"] is None and metrics["efficiency"] is None
    else:
        assert 0 <= metrics["segmentation"]["miou"] <= 1  # 14 synthetic maps of 20 samples
        assert metrics["efficiency"]["params_m"] > 1 and metrics["efficiency"]["gmac"] > 0
        assert metrics["features"]["preset"] == "csmoe_tiny"


def test_evaluate_refuses_queries_that_are_in_the_test_archive(
    shards: Path, eval_splits: dict[str, Path], tmp_path: Path, capsys
) -> None:
    """Every query would retrieve itself first: the same folder, or shared patch ids."""
    base = ["evaluate", "--features", "band_stats", "--train", str(shards)]
    same = [*base, "--queries", str(shards), "--test", str(shards), "--out", str(tmp_path)]
    assert main(same) == 2
    assert "are the test archive (--test) itself" in capsys.readouterr().err
    overlap = [*base, "--queries", str(eval_splits["queries"]), "--test", str(shards),
               "--out", str(tmp_path)]  # fmt: skip
    assert main(overlap) == 2
    assert "8 query patch(es) are also in the test archive" in capsys.readouterr().err
    assert not (tmp_path / "metrics.json").exists()


def test_evaluate_refuses_shards_with_other_bands(shards, eval_splits, exported, tmp_path,
                                                  capsys) -> None:  # fmt: skip
    description = json.loads(exported.with_suffix(".json").read_text())
    description["input"]["bands"]["s2"] = list(reversed(description["input"]["bands"]["s2"]))
    other = tmp_path / "encoder.safetensors"
    other.write_bytes(exported.read_bytes())
    other.with_suffix(".json").write_text(json.dumps(description))
    args = ["evaluate", "--encoder", str(other), *split_args(shards, eval_splits),
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 2
    assert "differ from the encoder's" in capsys.readouterr().err
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_evaluation_manifest_takes_a_split_or_a_stratified_cap(manifest: Path) -> None:
    table = pd.read_parquet(manifest)
    table["split"] = ["test"] * 13 + ["validation"] * 7
    table["snow"], table["cloud"] = False, pd.NA
    table.loc[4, "cloud"] = True  # flagged patches are in no evaluation split
    whole = evaluation_manifest(table, "test", None, seed=0)
    assert len(whole) == 12 and list(whole["order"]) == list(range(12))
    assert table.loc[4, "patch_id"] not in set(whole["patch_id"])
    capped = evaluation_manifest(table, "test", 6, seed=0)
    assert len(capped) == 6 and set(capped["patch_id"]) < set(whole["patch_id"])
    assert capped.equals(evaluation_manifest(table, "test", 6, seed=0))
    # Each stratum (the rarest label) keeps a patch while the cap allows.
    strata = whole["stratum"].nunique()
    assert evaluation_manifest(table, "test", strata, seed=1)["stratum"].nunique() == strata
    with pytest.raises(InputError, match="no labelled patch without snow or cloud in the train"):
        evaluation_manifest(table, "train", None, seed=0)
    assert np.allclose(whole["weight"], 1.0)


def test_study_table_and_figures(shards, eval_splits, exported, tmp_path: Path) -> None:
    splits = [*split_args(shards, eval_splits), "--segmentation-epochs", "1"]
    runs = {
        "w/thematic_climatic/moe": ["--encoder", str(exported), "--sampler", "thematic_climatic",
                                    "--model", "moe"],
        "w/baseline/random_init_moe": ["--features", "random_init", "--encoder", str(exported),
                                       "--model", "moe"],
        "w/baseline/band_stats": ["--features", "band_stats"],
    }  # fmt: skip
    for name, extra in runs.items():
        out = str(tmp_path / "eval" / name)
        assert main(["evaluate", *extra, *splits, "--archive", "w", "--out", out]) == 0
    log = tmp_path / "pretrain" / "w" / "thematic_climatic" / "moe"
    assert main(["pretrain", "--shards", str(shards), "--preset", "csmoe_tiny", "--steps", "2",
                 "--batch-size", "4", "--expert-log-every", "1", "--loader-workers", "0",
                 "--out", str(log)]) == 0  # fmt: skip
    metrics = [str(tmp_path / "eval" / name / "metrics.json") for name in runs]
    example = metrics[0]
    args = ["study", "--metrics", *metrics, "--logs", str(log / "log.jsonl"), "--examples",
            example, "--queries", str(eval_splits["queries"]), "--test",
            str(eval_splits["test"]),
            "--out", str(tmp_path / "study")]  # fmt: skip
    assert main(args) == 0
    table = pd.read_csv(tmp_path / "study" / "table.csv")
    assert list(table["model"]) == ["moe", "random_init_moe", "band_stats"]
    assert list(table["features"]) == ["pretrained", "random_init", "band_stats"]
    assert table["ret_s1_to_s2_f1@10"].isna().tolist() == [False, False, True]
    text = (tmp_path / "study" / "table.md").read_text()
    assert "| — |" in text and "bootstrap interval" in text
    # Every metric cell has its interval, around the value each evaluation computed.
    evaluated = json.loads(Path(metrics[0]).read_text())
    row = table.iloc[0]
    for metric, value in (
        ("cls_s2_micro_map", evaluated["classification"]["s2"]["micro_map"]),
        ("seg_miou", evaluated["segmentation"]["miou"]),
        ("ret_s1_to_s2_f1@10", evaluated["retrieval"]["s1->s2"]["10"]["f1"]),
    ):
        assert row[metric] == pytest.approx(value, rel=1e-5), metric  # CSV: 6 digits
        assert row[f"{metric}_low"] <= row[metric] <= row[f"{metric}_high"], metric
    lines = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")]
    column = lines[0].index("cls_s2_micro_map")
    assert all("[" in cells[column] and "]" in cells[column] for cells in lines[1:])
    # A key under the table: every code-named column with its meaning.
    header = [cell.strip(" |") for cell in lines[0]]
    key = text.split("Key to the columns", 1)[1]
    assert len(header) > 20 and all(f"- `{name}`: " in key for name in header)
    assert "- `ret_s1_to_s2_f1@10`: retrieval, Sentinel-1 queries against the Sentinel-2" in key
    assert 0 <= row["expert_p_min"] <= 1 and row["expert_jsd_max"] >= 0
    compared = pd.read_csv(tmp_path / "study" / "comparisons.csv")
    assert "thematic_climatic moe − random weights" in set(compared["comparison"])
    assert (compared["low"] <= compared["difference"]).all()
    claims = (tmp_path / "study" / "claims.md").read_text()
    for letter in "abcd":
        assert f"## ({letter}) " in claims
    assert "Rule: " in claims and "**Outcome: " in claims
    page = (tmp_path / "study" / "claims.html").read_text()
    assert "<h1>" in page and "<li>" in page and "<p>- " not in page
    for figure in ("quality_vs_cost", "comparisons", "pretraining_loss", "expert_shares",
                   "retrieval_examples"):  # fmt: skip
        assert (tmp_path / "study" / f"{figure}.png").stat().st_size > 5000, figure


def test_evaluate_twice_writes_the_same_metrics_bytes(shards, eval_splits, exported,
                                                      tmp_path: Path) -> None:  # fmt: skip
    """metrics.json holds results only; the measured speed goes to timing.json."""
    outputs = []
    for name in ("a", "b"):
        args = ["evaluate", "--encoder", str(exported), *split_args(shards, eval_splits),
                "--segmentation-epochs", "2", "--out", str(tmp_path / name)]  # fmt: skip
        assert main(args) == 0
        outputs.append((tmp_path / name / "metrics.json").read_bytes())
    assert outputs[0] == outputs[1]
    timing = json.loads((tmp_path / "a" / "timing.json").read_text())
    assert timing["images_per_s"] > 0 and timing["device"] == "cpu"
