"""Hostile and damaged files found by review and by mutation runs: each reader ends in
one clear error naming the file, never a crash, a hang or silently wrong data."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import textwrap
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import export_tiny_encoder
from geobench_archive import throwaway_geobench, write_classification_task
from runner import BIN, REPO

from csmoe.cli import main
from csmoe.errors import InputError
from csmoe.geobench.reader import TaskFolder
from csmoe.geobench.tasks import TASKS


# ------------------------------------------------------------------ GEO-Bench labels
def write_label_pickle(sample: Path, label) -> None:
    """Replace a sample's pickled attributes by ``{"label": label}``."""
    import h5py

    with h5py.File(sample, "a") as h5:
        h5.attrs["pickle"] = str(pickle.dumps({"label": label}))


def array_interface_label(module_classes):
    """A label whose state gives it an ``__array_interface__`` at address 16."""
    interface = {"data": (16, False), "shape": (4096,), "typestr": "<f8", "version": 3}
    label = module_classes["geobench.label"].Classification()
    label.__dict__["__array_interface__"] = interface
    return label


def test_labels_that_point_numpy_at_memory_are_refused_without_a_crash(tmp_path: Path) -> None:
    """numpy reads an object's ``__array_interface__``: a stub or an OrderedDict given one
    by the pickle made `np.asarray(label)` read address 16 (SIGSEGV, exit 139)."""
    folder = write_classification_task(tmp_path, n=8)
    with throwaway_geobench() as modules:
        write_label_pickle(folder / "id_0001.hdf5", array_interface_label(modules))
    ordered = OrderedDict(a=1)
    ordered.__dict__["__array_interface__"] = {"data": (16, False), "shape": (4096,),
                                               "typestr": "<f8", "version": 3}  # fmt: skip
    write_label_pickle(folder / "id_0002.hdf5", ordered)
    script = textwrap.dedent(f"""
        from csmoe.errors import InputError
        from csmoe.geobench.reader import TaskFolder
        from csmoe.geobench.tasks import TASKS
        task = TaskFolder({str(tmp_path)!r}, TASKS["m-eurosat"])
        for sample in ("id_0001", "id_0002"):
            try:
                task.read(sample)
            except InputError as error:
                print(error)
    """)
    result = subprocess.run([str(BIN / "python"), "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, (result.returncode, result.stderr[-500:])
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "id_0001.hdf5: label is a Classification" in lines[0]
    assert "id_0002.hdf5: label is a dict" in lines[1]


def test_decoded_attributes_are_plain_data(tmp_path: Path) -> None:
    from csmoe.geobench.unpickle import Stub, decode_attribute

    with throwaway_geobench() as modules:
        text = str(pickle.dumps({"label": array_interface_label(modules),
                                 "arr": np.arange(6, dtype=">i2").reshape(2, 3),
                                 "od": OrderedDict(b=2)}))  # fmt: skip
    attrs = decode_attribute(text)
    assert isinstance(attrs["label"], Stub) and "__array_interface__" in attrs["label"].state
    assert not hasattr(attrs["label"], "__array_interface__")
    assert type(attrs["od"]) is dict and attrs["od"] == {"b": 2}
    np.testing.assert_array_equal(attrs["arr"], np.arange(6).reshape(2, 3))


def deep_literal(depth: int) -> str:
    return "(" * depth + "b''" + ",)" * depth


@pytest.mark.parametrize(
    "attribute, words",
    [
        (str(b""), "EOFError"),  # an empty pickle
        (str(pickle.dumps(object)), "refusing to unpickle builtins.object"),
        (str(b"cdatetime\ndate\n(S'x'\ntR."), "TypeError"),  # bad arguments, allowed callable
        (deep_literal(200_000), "nested"),  # a deeply nested literal (RecursionError)
        ("b'" + "x" * 10 + "'" + "+" * 3, "not a bytes literal"),
        (str(pickle.dumps({"label": np.dtype(object)})), "not plain data"),  # object arrays
        (str(b"(" * 100_000 + b"t" * 100_000 + b"."), "nested"),  # deeply nested tuples
    ],
    ids=["empty", "object", "TypeError", "deep literal", "syntax", "object dtype", "deep"],
)
def test_unpickler_failures_are_input_errors_naming_file_and_attribute(
    tmp_path: Path, attribute: str, words: str
) -> None:
    import h5py

    folder = write_classification_task(tmp_path, n=8)
    with h5py.File(folder / "id_0003.hdf5", "a") as h5:
        h5.attrs["pickle"] = attribute
    with pytest.raises(InputError, match=r"id_0003.hdf5: attribute 'pickle' \(the label\)") as info:
        TaskFolder(tmp_path, TASKS["m-eurosat"]).read("id_0003")
    assert words in str(info.value) and len(str(info.value).splitlines()) == 1


# ------------------------------------------------------------ GEO-Bench HDF5 reaches
def test_hdf5_links_and_external_storage_outside_the_file_are_refused(tmp_path: Path) -> None:
    import h5py

    folder = write_classification_task(tmp_path / "gb", n=8)
    secret = tmp_path / "secret.hdf5"
    with h5py.File(secret, "w") as h5:
        h5["data"] = np.full((16, 16), 42, np.int16)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full((16, 16), 7, np.int16).tobytes())
    task = TaskFolder(tmp_path / "gb", TASKS["m-eurosat"])
    with h5py.File(folder / "id_0001.hdf5", "a") as h5:
        del h5["04 - Red"]
        h5["04 - Red"] = h5py.ExternalLink(str(secret), "data")
    with pytest.raises(InputError, match="id_0001.hdf5: '04 - Red' is a ExternalLink"):
        task.read("id_0001")
    with h5py.File(folder / "id_0002.hdf5", "a") as h5:
        del h5["04 - Red"]
        h5.create_dataset("04 - Red", (16, 16), np.int16, external=[(str(raw), 0, 512)])
    with pytest.raises(InputError, match="id_0002.hdf5: '04 - Red' keeps its data in other"):
        task.read("id_0002")


@pytest.mark.parametrize("sample_id", ["../../secret", "/etc/passwd", "..", "a/b"])
def test_partition_ids_that_are_paths_are_refused(tmp_path: Path, sample_id: str) -> None:
    folder = write_classification_task(tmp_path, n=8)
    partition = folder / "default_partition.json"
    partition.write_text(json.dumps({"train": [sample_id], "valid": [], "test": []}))
    with pytest.raises(InputError, match="default_partition.json: sample id .* is not a file name"):
        TaskFolder(tmp_path, TASKS["m-eurosat"]).partition()


def test_one_class_training_split_is_named(tmp_path: Path, shards: Path) -> None:
    from csmoe.geobench.evaluate import evaluate_task

    folder = write_classification_task(tmp_path / "gb", n=16)
    ids = json.loads((folder / "default_partition.json").read_text())
    ids["train"] = ["id_0000", "id_0010"]  # classes 0 and 0 (label = i % 10)
    (folder / "default_partition.json").write_text(json.dumps(ids))
    encoder = export_tiny_encoder(shards, tmp_path / "enc" / "encoder.safetensors")
    with pytest.raises(InputError, match="the train split of m-eurosat holds one class only"):
        evaluate_task(encoder, tmp_path / "gb", "m-eurosat", tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------- SSL4EO-S12 v1.1
def rezip(path: Path, change) -> None:
    """Apply `change(folder)` to the unpacked store of a zarr zip file, then zip again."""
    import zipfile

    folder = path.with_suffix("")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    change(folder)
    path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    shutil.rmtree(folder)


def test_v11_damaged_integer_chunk_is_found_by_the_full_check(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    from csmoe.index import build_index

    root = tmp_path / "v11"
    shutil.copytree(ssl4eo_v11_root, root)
    damaged = root / "train" / "S2L2A" / "ssl4eos12_train_seasonal_data_000001.zarr.zip"

    def damage(folder: Path) -> None:  # a sound Blosc header over a garbled payload
        chunk = folder / "bands" / "0.2.0.0.0"
        data = chunk.read_bytes()
        chunk.write_bytes(data[:16] + b"\xff" * (len(data) - 16))

    rezip(damaged, damage)
    with pytest.raises(InputError, match=f"{damaged}: unreadable bands of timestamp 2"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=root)
    out = tmp_path / "kept.parquet"
    assert build_index("ssl4eo-s12-v1.1", out, root=root, skip_bad=True, workers=2) == 4


def test_v11_blosc_header_claiming_more_bytes_than_the_chunk_is_refused(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    """c-blosc trusts the sizes in a chunk's header: one claiming more compressed bytes
    than the chunk holds made it read past the buffer (SIGSEGV, found by fuzzing)."""
    import struct

    from csmoe.index import build_index

    root = tmp_path / "v11"
    shutil.copytree(ssl4eo_v11_root, root)
    damaged = root / "val" / "S2L2A" / "ssl4eos12_val_seasonal_data_000001.zarr.zip"

    def damage(folder: Path) -> None:
        chunk = folder / "x_" / "0.0"
        data = bytearray(chunk.read_bytes())
        data[12:16] = struct.pack("<I", 1 << 30)
        chunk.write_bytes(bytes(data))

    rezip(damaged, damage)
    with pytest.raises(InputError, match="damaged chunk x_/0.0: its header says 1073741824"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=root, workers=2)


def test_v11_missing_timestamp_is_a_patch_problem(ssl4eo_v11_root: Path, tmp_path: Path) -> None:
    import xarray as xr
    from archives import write_zarr_zip

    from csmoe.index import build_index
    from csmoe.zarr_zip import open_zarr_zip

    root = tmp_path / "v11"
    shutil.copytree(ssl4eo_v11_root, root)
    path = root / "val" / "S2L2A" / "ssl4eos12_val_seasonal_data_000001.zarr.zip"
    dataset = open_zarr_zip(path).load()
    times = dataset["time_"].values.copy()
    times[0, 2] = np.datetime64("NaT")
    dataset = dataset.assign(time_=xr.DataArray(times, dims=("sample", "time")))
    path.unlink()
    write_zarr_zip(dataset, path)
    with pytest.raises(InputError, match=f"{path}: sample 0000173_2 has no timestamp"):
        build_index("ssl4eo-s12-v1.1", tmp_path / "x.parquet", root=root)
    assert build_index("ssl4eo-s12-v1.1", tmp_path / "k.parquet", root=root, skip_bad=True) == 8


# ------------------------------------------------------------------ exported encoders
@pytest.fixture
def encoder_copy(shards: Path, tmp_path: Path) -> Path:
    return export_tiny_encoder(shards, tmp_path / "enc" / "encoder.safetensors")


def edit_description(path: Path, change) -> None:
    meta = path.with_suffix(".json")
    description = json.loads(meta.read_text())
    change(description)
    meta.write_text(json.dumps(description))


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d["encoder"].update(depth=10**9), "encoder depth 1000000000 is not an integer"),
        (lambda d: d["encoder"].update(embed_dim=10**6), "encoder embed_dim"),
        (lambda d: d["encoder"].update(num_heads="12"), "encoder num_heads '12'"),
        (lambda d: d["encoder"].update(moe_blocks=[99]), "moe_blocks [99]"),
        (lambda d: d["encoder"].update(mlp_ratio=2.0), "weights do not fit the description"),
        (lambda d: d["input"].update(normalisation={}), "no normalisation for s1"),
        (lambda d: d["input"]["bands"].update(s2=["B02"]), "input bands of s2 must be 10"),
        (lambda d: d.update(encoder=[1, 2]), "'encoder' must hold exactly"),
    ],
    ids=["huge depth", "huge width", "text", "moe block", "other MLP", "no normalisation",
         "bands", "list"],
)  # fmt: skip
def test_encoder_descriptions_are_checked_before_building(encoder_copy: Path, change, words):
    from csmoe.models import load_encoder

    edit_description(encoder_copy, change)
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_encoder(encoder_copy)
    assert words in str(info.value) and time.perf_counter() - start < 30


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p.with_suffix(".json").write_text("[1, 2]"), "not a JSON object"),
        (lambda p: p.with_suffix(".json").write_text('{"format": NaN}'), "not valid JSON"),
        (lambda p: p.write_bytes(b"\xff" * 64), "not a safetensors file"),
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a safetensors file"),
    ],
    ids=["json list", "json nan", "garbage weights", "truncated weights"],
)
def test_damaged_encoder_files_are_named(encoder_copy: Path, damage, words) -> None:
    from csmoe.models import load_encoder

    damage(encoder_copy)
    with pytest.raises(InputError, match=words):
        load_encoder(encoder_copy)


def test_nan_weights_are_refused(encoder_copy: Path) -> None:
    from safetensors.torch import load_file, save_file

    from csmoe.models import load_encoder

    tensors = load_file(str(encoder_copy))
    name = sorted(tensors)[3]
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, str(encoder_copy))
    with pytest.raises(InputError, match="weights hold NaN, infinite or absurd values"):
        load_encoder(encoder_copy)


# ------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "text, words",
    [
        (b"seed: 0\n\xff\xfe", "not UTF-8 text (byte 8)"),
        (b"seed: [0\nstudy: {}\n", "not valid YAML"),
        (b"a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases are not allowed"),
        (b"seed: 0\nseed: 1\n", "duplicate key 'seed'"),
    ],
    ids=["utf8", "yaml", "alias", "duplicate"],
)
def test_config_files_are_read_strictly(tmp_path: Path, capsys, text: bytes, words: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(text)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and str(path) in err[0]


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}] " for i in range(1, 30)]  # 9^30 leaves if expanded
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(InputError, match="aliases are not allowed"):
        from csmoe import config

        config.load(path)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    "key, value", [("pretrain.lr", ".nan"), ("sampling.alpha", ".nan"), ("pretrain.epochs", ".inf")]
)
def test_non_finite_numbers_are_refused(tmp_path: Path, key: str, value: str) -> None:
    import yaml

    from csmoe import config

    data = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    section, name = key.split(".")
    data[section][name] = float(value.replace(".", ""))
    if name == "epochs":
        data[section].pop("steps")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=f"config key {key}: not a finite number"):
        config.load(path)


# ------------------------------------------------------------ shards read by pretrain
def copy_shards(shards: Path, tmp_path: Path) -> Path:
    out = tmp_path / "s"
    shutil.copytree(shards, out)
    for file in out.iterdir():
        file.chmod(0o644)
    return out


def set_header(shard: Path, change) -> None:
    """Rewrite a shard's safetensors header through `change(header) -> header`."""
    import struct

    data = shard.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = change(json.loads(data[8 : 8 + size]))
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    text = text.ljust(size)[:size] if len(text) <= size else text
    shard.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])


def retype(header: dict) -> dict:
    header["s1"]["dtype"] = "X9"
    return header


def absurd_length(shard: Path) -> None:
    import struct

    data = shard.read_bytes()
    shard.write_bytes(struct.pack("<Q", 2**62) + data[8:])


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda s: set_header(s, lambda h: [1, 2]), "safetensors header is not a JSON object"),
        (lambda s: set_header(s, retype), "tensor 's1': bad header entry"),
        (absurd_length, "header length 4611686018427387904 exceeds the shard"),
    ],
    ids=["header list", "unknown dtype", "absurd length"],
)
def test_damaged_shard_headers_are_named_by_the_pretraining_reader(
    shards: Path, tmp_path: Path, damage, words: str
) -> None:
    from csmoe.training.batches import GlobalBatches

    out = copy_shards(shards, tmp_path)
    shard = out / "shard-00001.safetensors"
    damage(shard)
    with pytest.raises(InputError, match=f"{shard}: {words}"):
        GlobalBatches(out, batch_size=4, seed=0, start_step=0, steps=2)


def test_statistics_missing_a_band_are_named_by_the_pretraining_reader(shards, tmp_path):
    from csmoe.training.batches import GlobalBatches

    out = copy_shards(shards, tmp_path)
    stats = json.loads((out / "stats.json").read_text())
    del stats["bands"]["B8A"]
    (out / "stats.json").write_text(json.dumps(stats))
    with pytest.raises(InputError, match="stats.json: no statistics for band.s. B8A"):
        GlobalBatches(out, batch_size=4, seed=0, start_step=0, steps=2)


def test_a_reordered_band_list_in_index_json_is_refused(shards: Path, tmp_path: Path) -> None:
    """Each shard records its band order: an edited index.json no longer matches it (the
    exported encoder would otherwise list its bands in the wrong order)."""
    from csmoe.training.batches import GlobalBatches

    out = copy_shards(shards, tmp_path)
    index = json.loads((out / "index.json").read_text())
    index["s2_bands"][0], index["s2_bands"][1] = index["s2_bands"][1], index["s2_bands"][0]
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="holds S2 bands .* but index.json lists"):
        GlobalBatches(out, batch_size=4, seed=0, start_step=0, steps=2)
    assert main(["shard", "--verify", str(out)]) == 2


# ------------------------------------------------------------------------ manifests
@pytest.mark.parametrize(
    "labels, words",
    [(np.zeros(18, np.uint8), "multi_hot_19 is not 19 values of 0 or 1"),
     (np.full(19, 3, np.uint8), "multi_hot_19 is not 19 values of 0 or 1")],
    ids=["wrong length", "not 0 or 1"],
)  # fmt: skip
def test_manifest_labels_are_checked(manifest: Path, tmp_path: Path, labels, words) -> None:
    from csmoe.data.shards import write_shards

    table = pd.read_parquet(manifest)
    table.at[2, "multi_hot_19"] = labels
    path = tmp_path / "m.parquet"
    table.to_parquet(path)
    with pytest.raises(InputError, match=f"m.parquet: {table.loc[2, 'patch_id']}: {words}"):
        write_shards(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
