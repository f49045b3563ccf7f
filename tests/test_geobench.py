"""GEO-Bench task folders read without `geobench`: safe labels, bands by name, splits."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
from geobench_archive import (
    S2_13,
    write_classification_task,
    write_multilabel_task,
    write_sample,
    write_segmentation_task,
)

from csmoe.errors import InputError
from csmoe.geobench.reader import TaskFolder
from csmoe.geobench.tasks import TASKS
from csmoe.geobench.unpickle import Stub, UnsafePickle, decode_attribute


class Payload:
    """Pickles as a call of `function` with `args` (what an attacker would write)."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize(
    "function, name",
    [(os.system, "system"), (eval, "builtins.eval"), (subprocess.Popen, "subprocess.Popen"),
     (__import__, "builtins.__import__")],
)  # fmt: skip
def test_malicious_pickles_are_refused_without_side_effects(tmp_path: Path, function, name):
    marker = tmp_path / "pwned"
    args = {"system": (f"touch {marker}",), "builtins.eval": (f"open('{marker}', 'w')",),
            "subprocess.Popen": (["touch", str(marker)],),
            "builtins.__import__": ("os",)}[name]  # fmt: skip
    text = str(pickle.dumps({"label": Payload(function, *args)}))
    with pytest.raises(UnsafePickle, match="refusing to unpickle .*"):
        decode_attribute(text)
    assert not marker.exists()


def test_a_malicious_sample_file_is_named_and_does_nothing(tmp_path: Path) -> None:
    import h5py

    folder = write_classification_task(tmp_path, n=8)
    marker = tmp_path / "pwned"
    sample = folder / "id_0004.hdf5"
    with h5py.File(sample, "a") as h5:
        h5.attrs["pickle"] = str(pickle.dumps({"label": Payload(os.system, f"touch {marker}")}))
    task = TaskFolder(tmp_path, TASKS["m-eurosat"])
    with pytest.raises(
        InputError, match=f"{sample}: attribute .pickle. .the label. refused: refus"
    ):
        task.read("id_0004")
    assert not marker.exists()


def test_a_non_bytes_attribute_is_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="expected a bytes literal"):
        decode_attribute("{'label': 3}")
    with pytest.raises(pickle.UnpicklingError, match="not a bytes literal"):
        decode_attribute("__import__('os').system('true')")


def test_geobench_objects_become_inert_stubs_with_their_state(tmp_path: Path) -> None:
    import h5py

    write_sample(tmp_path / "s.hdf5", {"02 - Blue": np.ones((4, 4), np.int16)}, 3)
    with h5py.File(tmp_path / "s.hdf5") as h5:
        attrs = decode_attribute(h5.attrs["pickle"])
    info = attrs["02 - Blue"]["band_info"]
    assert isinstance(info, Stub) and info.stub_of == "geobench.dataset.Sentinel2"
    assert info.state["name"] == "02 - Blue" and info.state["spatial_resolution"] == 10
    assert not hasattr(info, "__dict__") and not hasattr(info, "name")  # state is data only
    transform = attrs["02 - Blue"]["transform"]
    assert transform.stub_of == "affine.Affine" and transform.args == (10, 0, 5e5, 0, -10, 4e6)
    assert attrs["label"] == 3 and attrs["bands_order"] == ["02 - Blue"]


def test_eurosat_bands_are_read_by_name_with_the_shift_corrected(tmp_path: Path) -> None:
    """Each dataset holds 100 x its position in the file; B8A comes from '12 - SWIR'."""
    folder = write_classification_task(tmp_path, n=8)
    bands = {name: np.full((4, 4), 100 * (i + 1), np.int16) for i, name in enumerate(S2_13)}
    write_sample(folder / "id_0000.hdf5", bands, 7)
    sample = TaskFolder(tmp_path, TASKS["m-eurosat"]).read("id_0000")
    raw = {band: values[0, 0] * 900.0 + 2000.0 for band, values in sample.s2.items()}  # undo z
    expected = {
        "B01": 100,
        "B02": 200,
        "B03": 300,
        "B04": 400,
        "B05": 500,
        "B06": 600,
        "B07": 700,
        "B08": 800,
        "B8A": 1300,
        "B09": 900,
        "B11": 1100,
        "B12": 1200,
    }
    assert {b: round(v) for b, v in raw.items()} == expected  # fmt: skip
    assert int(sample.label) == 7 and sample.s1 == {}


def test_legacy_sample_without_bands_order_is_read(tmp_path: Path) -> None:
    write_classification_task(tmp_path, n=8)  # its id_0000 is written the legacy way
    sample = TaskFolder(tmp_path, TASKS["m-eurosat"]).read("id_0000")
    assert int(sample.label) == 0 and sample.s2["B04"].shape == (16, 16)


def test_multilabel_labels_and_label_fraction_partitions(tmp_path: Path) -> None:
    write_multilabel_task(tmp_path)
    task = TaskFolder(tmp_path, TASKS["m-bigearthnet"])
    default, half = task.partition(), task.partition("0.50x_train")
    assert len(default["train"]) == 8 and half["train"] == default["train"][:4]
    assert half["test"] == default["test"]
    sample = task.read(default["test"][0])
    assert sample.label.shape == (43,) and sample.label.sum() == 2
    assert sorted(sample.s2) == sorted(TASKS["m-bigearthnet"].s2)


@pytest.mark.parametrize("dated", [False, True], ids=["SA-crop-type", "cashew-plant"])
def test_segmentation_labels_dates_and_symlinked_partitions(tmp_path: Path, dated: bool):
    folder = write_segmentation_task(tmp_path, dated=dated)
    name = "m-cashew-plant" if dated else "m-SA-crop-type"
    task = TaskFolder(tmp_path, TASKS[name])
    assert (folder / "default_partition.json").is_symlink() != dated
    sample = task.read(task.partition()["valid"][0])
    assert sample.label.shape == (16, 16) and sample.label[:, 8:].max() == 0
    assert sample.label[:, :8].min() >= 1
    assert len(sample.s2) == 12  # Cloud Probability is read by no encoder band
    assert sample.s2["B04"][:, :8].mean() > sample.s2["B04"][:, 8:].mean() + 1


def test_missing_statistics_and_bands_are_named(tmp_path: Path) -> None:
    import json

    folder = write_classification_task(tmp_path, n=8)
    stats = json.loads((folder / "band_stats.json").read_text())
    del stats["04 - Red"]
    (folder / "band_stats.json").write_text(json.dumps(stats))
    with pytest.raises(
        InputError, match="band_stats.json: no numeric mean and std for band '04 - Red'"
    ):
        TaskFolder(tmp_path, TASKS["m-eurosat"])
    with pytest.raises(InputError, match="m-so2sat: GEO-Bench task folder of m-so2sat not found"):
        TaskFolder(tmp_path, TASKS["m-so2sat"])


def test_so2sat_goes_through_both_branches_and_scores_average_accuracy(
    exported: Path, tmp_path: Path
) -> None:
    import json

    from geobench_archive import write_so2sat_task

    from csmoe.evaluation.classification import C_GRID
    from csmoe.geobench.evaluate import evaluate_task

    write_so2sat_task(tmp_path / "gb")
    metrics = evaluate_task(exported, tmp_path / "gb", "m-so2sat", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == metrics
    assert metrics["metric"] == "average_accuracy" and 0 <= metrics["score"] <= 1
    assert metrics["selected"]["C"] in C_GRID
    assert metrics["split_sizes"] == {"train": 12, "valid": 6, "test": 6}
    assert metrics["bands_missing"] == []  # the ten CSMAE S2 bands are all there
    # The class lives in the S1 VV band only: the S1 branch carries it.
    assert metrics["score"] > 0.5
    vv = metrics["s1_db_statistics"]["06 - VV.LEE Filtered"]
    assert -14 < vv["mean"] < -8 and 3 < vv["std"] < 8  # dB of classes at -14 ... -5 dB


def test_so2sat_s1_intensities_are_read_in_db_with_training_statistics(tmp_path: Path) -> None:
    """m-so2sat's Lee-filtered S1 bands are linear intensities; z-scored with the
    published linear statistics (VV std 11.8) they are an almost constant input."""
    import h5py
    from geobench_archive import write_so2sat_task

    from csmoe.geobench.reader import to_db

    write_so2sat_task(tmp_path)
    task = TaskFolder(tmp_path, TASKS["m-so2sat"])
    splits = task.partition()
    stats = task.fit_db_statistics(splits["train"])
    train_db = []
    for sample_id in splits["train"]:
        with h5py.File(task.folder / f"{sample_id}.hdf5") as h5:
            train_db.append(to_db(h5["06 - VV.LEE Filtered"][()]))
    mean, std = np.mean(train_db), np.std(train_db)
    assert stats["06 - VV.LEE Filtered"] == pytest.approx((mean, std), rel=1e-5)
    sample_id = splits["test"][0]
    sample = task.read(sample_id)
    with h5py.File(task.folder / f"{sample_id}.hdf5") as h5:
        raw = h5["06 - VV.LEE Filtered"][()]
    expected = (10 * np.log10(np.maximum(raw, 1e-4)) - mean) / std
    assert sample.s1["VV"] == pytest.approx(expected, abs=1e-4)
    assert sample.s1["VV"].std() > 0.3 and np.isfinite(sample.s1["VH"]).all()


@pytest.mark.parametrize("mapping", ["corrected", "as-named"])
def test_brick_kiln_channels_feed_the_bands_the_export_wrote(tmp_path: Path, mapping: str):
    """m-brick-kiln's channels hold B1 B2 B3 B4 B5 B7 B8A B8 B11 B12 and 8-bit true
    colour under the 13 L1C names (GEO-Bench issue #29); channel k holds 100 x k here."""
    from geobench_archive import write_brick_kiln_task

    from csmoe.geobench.tasks import task as find_task

    write_brick_kiln_task(tmp_path)
    folder = TaskFolder(tmp_path, find_task("m-brick-kiln", mapping))
    sample = folder.read(folder.partition()["test"][0])
    held = {band: int(np.floor(values.min() / 100) * 100) for band, values in sample.s2.items()}
    if mapping == "corrected":
        assert held == {"B01": 100, "B02": 200, "B03": 300, "B04": 400, "B05": 500,
                        "B07": 600, "B8A": 700, "B08": 800, "B11": 900, "B12": 1000}  # fmt: skip
    else:  # the names as published: B06 gets B7, B8A gets B11, B11 and B12 are missing
        assert held == {"B01": 100, "B02": 200, "B03": 300, "B04": 400, "B05": 500,
                        "B06": 600, "B07": 700, "B08": 800, "B8A": 900, "B09": 1000}  # fmt: skip
    assert folder.task.band_mapping == mapping


def test_segmentation_keeps_the_epoch_with_the_best_validation_miou(
    exported: Path, tmp_path: Path
) -> None:
    from csmoe.geobench.evaluate import evaluate_task

    write_segmentation_task(tmp_path / "gb")
    run = {"archive": "a", "sampler": "random", "model": "m", "seed": 3}
    metrics = evaluate_task(exported, tmp_path / "gb", "m-SA-crop-type", tmp_path / "r.json",
                            epochs=6, run=run)  # fmt: skip
    assert metrics["metric"] == "miou" and 0 < metrics["score"] <= 1
    assert metrics["run"] == run | {"preset": "csmoe_tiny"}
    assert len(metrics["encoder_sha256"]) == 64
    assert 1 <= metrics["selected"]["epoch"] <= 6
    assert metrics["bands_unused"] == ["Cloud Probability"]


def test_table_sets_our_scores_beside_the_published_ones(tmp_path: Path) -> None:
    import json

    from csmoe.geobench.table import geobench_table

    paths = []
    results = (("moe", 0.5, "corrected"), ("dense", 0.25, "as-named"), (None, 0.75, "corrected"))
    for number, (model, score, mapping) in enumerate(results):
        run = {"archive": "demo", "sampler": "thematic_climatic", "model": model, "seed": 1}
        path = tmp_path / f"result{number}.json"  # the names come from the recorded run
        path.write_text(
            json.dumps(
                {
                    "task": "m-eurosat",
                    "score": score,
                    "band_mapping": mapping,
                    "run": run,
                    "encoder": "elsewhere/encoder.safetensors",
                }
            )
        )
        paths.append(path)  # fmt: skip
    table = geobench_table(paths).set_index("encoder")
    assert list(table.columns) == ["source", "band_mapping", "m-eurosat"]
    assert table.loc["demo/thematic_climatic/dense/seed1", "band_mapping"] == "as-named"
    assert table.loc["CSMoE patch14", "band_mapping"] == "unknown"
    assert table.loc["demo/thematic_climatic/moe/seed1", "m-eurosat"] == 50.0
    assert table.loc["elsewhere/encoder.safetensors", "m-eurosat"] == 75.0  # no model recorded
    assert table.loc["CSMoE patch14", "m-eurosat"] == 88.3
    assert (table["source"] == "ours").sum() == 3


def test_a_partition_with_an_empty_split_is_named(exported: Path, tmp_path: Path) -> None:
    import json

    from csmoe.geobench.evaluate import evaluate_task

    folder = write_classification_task(tmp_path / "gb", n=8)
    partition = folder / "default_partition.json"
    partition.write_text(json.dumps(json.loads(partition.read_text()) | {"valid": []}))
    with pytest.raises(InputError, match="default_partition.json: no samples in split"):
        evaluate_task(exported, tmp_path / "gb", "m-eurosat", tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()
