"""Shards and the loader: round trip, integrity, determinism, DDP/worker splitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch

from csmoe.cli import main
from csmoe.data import loader as loader_module
from csmoe.data.bands import BIGEARTHNET_STATS, CSMAE_S2
from csmoe.data.loader import ShardDataset, block
from csmoe.data.patch import upsample_bicubic
from csmoe.data.shards import read_index, verify_shards, write_shards
from csmoe.errors import InputError


def test_shards_hold_every_sample_in_selection_order(manifest: Path, shards: Path) -> None:
    index = read_index(shards)
    table = pd.read_parquet(manifest).sort_values("order")
    assert index["samples"] == len(table) == 20
    assert [s["samples"] for s in index["shards"]] == [6, 6, 6, 2]
    data = ShardDataset(shards, shuffle=False, flips=False)
    samples = list(data)
    assert [s["patch_id"] for s in samples] == list(table["patch_id"])
    first, row = samples[0], table.iloc[0]
    assert first["s2"].shape == (10, 120, 120) and first["s1"].shape == (2, 120, 120)
    assert first["labels"].tolist() == list(map(float, row["multi_hot_19"]))
    # The stored 10 m band equals the GeoTIFF after normalisation with stats.json.
    stats = json.loads((shards / "stats.json").read_text())["bands"]["B02"]
    with rasterio.open(Path(row["s2_dir"]) / f"{row['s2_name']}_B02.tif") as src:
        expected = (src.read(1).astype(np.float32) - stats["mean"]) / stats["std"]
    np.testing.assert_allclose(first["s2"][0].numpy(), expected, rtol=1e-5, atol=1e-5)
    real = [s for s in samples if not s["has_reference_map"]]
    assert len(real) == 6  # the real example pairs have no reference map


def test_bicubic_upsampling_is_torchs() -> None:
    coarse = np.arange(36, dtype=np.float32).reshape(1, 6, 6)
    fine = upsample_bicubic(coarse, 2)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(coarse)[None], size=(12, 12), mode="bicubic", align_corners=False
    )[0].numpy()
    np.testing.assert_allclose(fine, expected)
    assert fine.shape == (1, 12, 12)


@pytest.mark.parametrize(("world", "workers"), [(1, 1), (1, 3), (2, 1), (3, 2), (4, 3)])
def test_ranks_and_workers_see_every_sample_once(shards: Path, monkeypatch, world, workers) -> None:
    seen = []
    for rank in range(world):
        for worker in range(workers):
            info = type("Info", (), {"id": worker, "num_workers": workers})()
            monkeypatch.setattr(loader_module, "get_worker_info", lambda info=info: info)
            data = ShardDataset(shards, seed=4, rank=rank, world_size=world)
            data.set_epoch(2)
            seen += [s["patch_id"] for s in data]
    assert len(seen) == 20 and len(set(seen)) == 20


def test_equal_length_gives_every_rank_the_same_count(shards: Path) -> None:
    counts = [
        len(list(ShardDataset(shards, rank=r, world_size=3, equal_length=True))) for r in range(3)
    ]
    assert counts == [6, 6, 6]


def test_shuffling_is_deterministic_per_epoch_and_seed(shards: Path) -> None:
    def order(seed: int, epoch: int) -> list[str]:
        data = ShardDataset(shards, seed=seed, buffer_size=8)
        data.set_epoch(epoch)
        return [s["patch_id"] for s in data]

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1) and order(0, 0) != order(1, 0)
    assert sorted(order(0, 1)) == sorted(order(0, 0))


def test_flips_move_all_images_of_a_sample_together(shards: Path) -> None:
    plain = {s["patch_id"]: s for s in ShardDataset(shards, shuffle=False, flips=False)}
    flipped = list(ShardDataset(shards, shuffle=False, flips=True, seed=1))
    changed = 0
    for sample in flipped:
        base = plain[sample["patch_id"]]
        for dims in ((), (-1,), (-2,), (-2, -1)):
            if torch.equal(sample["s2"], base["s2"].flip(dims) if dims else base["s2"]):
                assert torch.equal(sample["s1"], base["s1"].flip(dims) if dims else base["s1"])
                ref = base["reference_map"]
                assert torch.equal(sample["reference_map"], ref.flip(dims) if dims else ref)
                changed += bool(dims)
                break
        else:
            pytest.fail("sample is not a flip of the original")
    assert changed > 5


def test_bf16_output(shards: Path) -> None:
    sample = next(iter(ShardDataset(shards, dtype=torch.bfloat16)))
    assert sample["s2"].dtype == torch.bfloat16


def test_rerun_is_byte_identical_and_verified(manifest: Path, shards: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    write_shards(manifest, again, shard_size=6, workers=1)
    for name in ["index.json", "stats.json"] + [s["file"] for s in read_index(shards)["shards"]]:
        assert (again / name).read_bytes() == (shards / name).read_bytes(), name
    assert verify_shards(again) == 20


def test_verify_names_a_damaged_shard(manifest: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    write_shards(manifest, out, shard_size=6)
    damaged = out / "shard-00001.safetensors"
    data = bytearray(damaged.read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert main(["shard", "--verify", str(out)]) == 2
    assert "shard-00001.safetensors (corrupt: checksum mismatch)" in capsys.readouterr().err
    truncated = out / "shard-00002.safetensors"
    size = truncated.stat().st_size
    truncated.write_bytes(truncated.read_bytes()[:1000])
    assert main(["shard", "--verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"shard-00002.safetensors (truncated: 1000 of {size} bytes)" in err
    assert "2 bad shard(s)" in err and len(err.strip().splitlines()) == 1


def test_dataset_names_a_damaged_shard_before_reading(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    write_shards(manifest, out, shard_size=10)
    shard = out / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    shard.chmod(0o644)
    from csmoe.data.shard_format import ShardFile

    handle = ShardFile(shard)
    data[handle.data_start + handle.tensors["s2"][2] + 5] ^= 0xFF  # an S2 value: any is valid
    shard.write_bytes(bytes(data))  # a flipped byte: caught with verify=True only
    assert len(list(ShardDataset(out, shuffle=False))) == 20
    labels = handle.data_start + handle.tensors["labels"][2]
    shard.write_bytes(bytes(data[:labels]) + b"\x07" + bytes(data[labels + 1 :]))
    with pytest.raises(InputError, match=f"{shard}: sample 0: label values are not 0 or 1"):
        list(ShardDataset(out, shuffle=False))
    shard.write_bytes(bytes(data))
    with pytest.raises(InputError, match=f"{shard}: corrupt: checksum mismatch"):
        ShardDataset(out, shuffle=False, verify=True)
    shard.write_bytes(bytes(data[:1000]))  # truncated: caught always, before reading
    with pytest.raises(InputError, match=f"{shard}: truncated: 1000 of {len(data)} bytes"):
        ShardDataset(out, shuffle=False)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda s: s.replace('"std": ', '"std": NaN, "x": ', 1), "NaN is not a number"),
        (lambda s: s.replace('"std": ', '"std": -', 1), "std -"),
        (lambda s: s.replace('"B02"', '"B99"', 1), "no statistics for band(s) B02"),
        (lambda s: s[: len(s) // 2], "not a valid statistics file"),
    ],
    ids=["NaN", "negative std", "band missing", "truncated JSON"],
)
def test_verify_checks_the_statistics(manifest: Path, tmp_path: Path, capsys, damage,
                                      words) -> None:  # fmt: skip
    out = tmp_path / "s"
    write_shards(manifest, out, shard_size=10)
    stats = out / "stats.json"
    stats.chmod(0o644)
    stats.write_text(damage(stats.read_text()))
    assert main(["shard", "--verify", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "stats.json" in err and words in err and len(err.splitlines()) == 1


def test_verify_checks_the_index(manifest: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    write_shards(manifest, out, shard_size=10)
    index = out / "index.json"
    index.chmod(0o644)
    data = json.loads(index.read_text())
    data["samples"] += 1
    index.write_text(json.dumps(data))
    assert main(["shard", "--verify", str(out)]) == 2
    assert "sample counts do not add up" in capsys.readouterr().err


def test_bigearthnet_statistics(manifest: Path, tmp_path: Path) -> None:
    write_shards(manifest, tmp_path / "s", shard_size=10, stats="bigearthnet")
    stats = json.loads((tmp_path / "s" / "stats.json").read_text())["bands"]
    assert stats["B02"] == {"mean": BIGEARTHNET_STATS["B02"][0], "std": BIGEARTHNET_STATS["B02"][1]}
    assert list(stats) == list(CSMAE_S2) + ["VV", "VH"]


def test_missing_patches_are_listed_or_skipped(manifest: Path, tmp_path: Path) -> None:
    table = pd.read_parquet(manifest)
    table.loc[[2, 5], "s2_dir"] = str(tmp_path / "gone")
    broken = tmp_path / "broken.parquet"
    table.to_parquet(broken)
    ids = ", ".join(
        table.sort_values("order")["patch_id"][
            table.sort_values("order")["s2_dir"] == str(tmp_path / "gone")
        ]
    )
    with pytest.raises(InputError, match=f"2 patch\\(es\\) missing from the archive: {ids}"):
        write_shards(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    index = write_shards(broken, tmp_path / "out", skip_missing=True)
    assert index["samples"] == 18
    assert len(pd.read_csv(tmp_path / "out" / "skipped.tsv", sep="\t")) == 2


def manifest_with_damaged_band(manifest: Path, tmp_path: Path, row: int, sensor: str,
                               band: str, damage) -> Path:  # fmt: skip
    """A copy of the manifest whose `row` reads `sensor`'s folder from a copy in which
    `damage(path)` changed one band file."""
    import shutil

    table = pd.read_parquet(manifest).sort_values("order")
    entry = table.iloc[row]
    copy = tmp_path / sensor
    shutil.copytree(entry[f"{sensor}_dir"], copy)
    damage(copy / f"{entry[f'{sensor}_name']}_{band}.tif")
    table.loc[table.index[row], f"{sensor}_dir"] = str(copy)
    path = tmp_path / "m.parquet"
    table.to_parquet(path)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_band_is_named(manifest: Path, tmp_path: Path, workers: int) -> None:
    def truncate(band: Path) -> None:
        band.write_bytes(band.read_bytes()[:300])

    path = manifest_with_damaged_band(manifest, tmp_path, 0, "s2", "B05", truncate)
    with pytest.raises(InputError, match="B05.tif: unreadable GeoTIFF"):
        write_shards(path, tmp_path / "out", workers=workers)
    assert not (tmp_path / "out").exists()


def add_non_finite(band: Path) -> None:
    """NaN, +inf and -inf in the first three pixels of a float band."""
    import rasterio

    with rasterio.open(band) as src:
        profile, values = src.profile, src.read(1)
    values[0, :3] = [np.nan, np.inf, -np.inf]
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(values, 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_nan_pixels_never_reach_a_sample(manifest: Path, tmp_path: Path, workers: int) -> None:
    """An index built with `check: header` does not decode pixels: the shard stage must."""
    path = manifest_with_damaged_band(manifest, tmp_path, 1, "s1", "VV", add_non_finite)
    with pytest.raises(InputError, match="VV.tif: 3 of 14400 pixels are NaN or infinite"):
        write_shards(path, tmp_path / "out", workers=workers)
    assert not (tmp_path / "out").exists()


def test_repair_policy_fills_non_finite_pixels_with_the_band_median(
    manifest: Path, tmp_path: Path
) -> None:
    import rasterio

    from csmoe.data.shard_format import ShardFile

    path = manifest_with_damaged_band(manifest, tmp_path, 1, "s1", "VV", add_non_finite)
    write_shards(path, tmp_path / "out", shard_size=20, non_finite="repair", workers=2)
    with rasterio.open(
        tmp_path / "s1" / f"{pd.read_parquet(path).sort_values('order').iloc[1].s1_name}_VV.tif"
    ) as src:
        values = src.read(1)
    vv = ShardFile(tmp_path / "out" / "shard-00000.safetensors").read_rows("s1", np.array([1]))[
        0, 0
    ]
    assert np.isfinite(vv).all()
    median = np.float16(np.median(values[np.isfinite(values)]))
    assert (vv[0, :3] == median).all() and (vv[1:] == values[1:].astype(np.float16)).all()


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda t: t.iloc[:0], "the manifest has no rows"),
        (lambda t: pd.concat([t, t.iloc[[3]]]), "1 patch id(s) listed twice"),
        (lambda t: t.drop(columns=["s2_dir"]), "no column(s) s2_dir"),
        (lambda t: t.rename(columns={"patch_id": "id"}), "no column(s) patch_id"),
        (lambda t: t.drop(columns=["order"]), "not a training manifest: no column(s) order"),
        (lambda t: "patch_id\nS2A_MSIL2A_20170613T101031_87_48\n", "not a readable Parquet"),
    ],
    ids=["empty", "duplicated id", "no s2_dir", "renamed column", "an index", "a CSV file"],
)
def test_bad_manifests_are_named(manifest: Path, tmp_path: Path, capsys, damage, words) -> None:
    path = tmp_path / "bad manifest.parquet"  # a path with a space, as users have
    damaged = damage(pd.read_parquet(manifest))
    if isinstance(damaged, str):
        path.write_text(damaged)
    else:
        damaged.to_parquet(path)
    code = main(["shard", "--manifest", str(path), "--out", str(tmp_path / "out"),
                 "--workers", "2"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"csmoe: error: {path}: ") and "\n" not in err
    assert words in err and not (tmp_path / "out").exists()


def test_block_partition_has_no_gaps() -> None:
    for length in (0, 1, 7, 20):
        for parts in (1, 2, 3, 8):
            spans = [block(length, parts, p) for p in range(parts)]
            assert spans[0][0] == 0 and spans[-1][1] == length
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_ssl4eo_v11_pairs_are_sharded_as_centre_crops(
    ssl4eo_v11_root: Path, tmp_path: Path
) -> None:
    from csmoe.data.shard_format import ShardFile
    from csmoe.index import build_index

    build_index("ssl4eo-s12-v1.1", tmp_path / "index.parquet", root=ssl4eo_v11_root)
    index = pd.read_parquet(tmp_path / "index.parquet")
    manifest = index[index["split"] == "train"].iloc[::-1].assign(order=range(8))
    manifest.to_parquet(tmp_path / "manifest.parquet")
    out = tmp_path / "shards"
    write_shards(tmp_path / "manifest.parquet", out, shard_size=3, workers=2,
                 s2_bands=("B02", "B8A"))  # fmt: skip
    assert verify_shards(out) == 8
    first = ShardFile(out / "shard-00000.safetensors")
    assert first.patch_ids() == list(manifest["patch_id"][:3])
    s2 = first.read_rows("s2", np.arange(3))
    s1 = first.read_rows("s1", np.arange(3))
    assert s2.shape == (3, 2, 120, 120) and s1.shape == (3, 2, 120, 120)
    columns = np.arange(72, 192)  # the centre 120 of 264 columns
    assert (s2[:, 0] == 1000 + 100 * 1 + columns).all()  # B02 is band 1 of the file
    assert (s2[:, 1] == 1000 + 100 * 8 + columns).all()  # B8A is band 8
    rows = (-30 + np.arange(72, 192) / 10).astype(np.float16)
    assert (s1[:, 0] == rows[:, None]).all() and (s1[:, 1] == rows[:, None]).all()


def _ssl4eo_v1_manifest(ssl4eo_root: Path, tmp_path: Path) -> Path:
    """Every indexed SSL4EO-S12 v1 pair, in reverse patch order."""
    from csmoe.index import build_index

    build_index("ssl4eo-s12", tmp_path / "index.parquet", root=ssl4eo_root)
    index = pd.read_parquet(tmp_path / "index.parquet")
    manifest = index.iloc[::-1].assign(order=range(len(index)))
    manifest.to_parquet(tmp_path / "manifest.parquet")
    return tmp_path / "manifest.parquet"


def test_ssl4eo_v1_pairs_are_sharded_as_centre_crops(ssl4eo_root: Path, tmp_path: Path) -> None:
    """10 m bands and S1: the centre 120 of 264 px; 20 m and 60 m bands: the centre 60 of
    132 and 20 of 44 px, upsampled by 2 and 6 as BigEarthNet's are; manifest band order."""
    from archives import SSL4EO_S2_BANDS, ssl4eo_pixels

    from csmoe.data.shard_format import ShardFile

    manifest = pd.read_parquet(_ssl4eo_v1_manifest(ssl4eo_root, tmp_path))
    out = tmp_path / "shards"
    bands = ("B8A", "B02", "B01", "B12")
    write_shards(tmp_path / "manifest.parquet", out, shard_size=8, workers=2, s2_bands=bands)
    assert verify_shards(out) == len(manifest)
    shard = ShardFile(out / "shard-00001.safetensors")
    assert shard.patch_ids() == list(manifest["patch_id"][8:16])
    s2, s1 = shard.read_rows("s2", np.arange(8)), shard.read_rows("s1", np.arange(8))
    position = list(SSL4EO_S2_BANDS)
    for row, stored_s2, stored_s1 in zip(manifest.iloc[8:16].itertuples(), s2, s1,
                                         strict=True):  # fmt: skip
        for stored, band in zip(stored_s2, bands, strict=True):
            name = "B" + str(int(band[1:])) if band[1:].isdigit() else band
            side = SSL4EO_S2_BANDS[name]
            factor, start = 264 // side, 72 * side // 264
            crop = ssl4eo_pixels(Path(row.s2_dir), position.index(name), side, s1=False)
            crop = crop[start : start + 120 // factor, start : start + 120 // factor]
            if factor > 1:
                crop = np.clip(np.rint(upsample_bicubic(crop[None], factor)[0]), 0, 65535)
            np.testing.assert_array_equal(stored, crop)
        for index, stored in enumerate(stored_s1):  # VV, VH: float16 dB, S1's own centre
            crop = ssl4eo_pixels(Path(row.s1_dir), index, 264, s1=True)[72:192, 72:192]
            np.testing.assert_array_equal(stored, crop.astype(np.float16))


def test_ssl4eo_v1_missing_band_is_named_at_sharding(ssl4eo_root: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "ssl4eo"
    shutil.copytree(ssl4eo_root, root)
    manifest = _ssl4eo_v1_manifest(root, tmp_path)
    gone = Path(pd.read_parquet(manifest)["s2_dir"].iloc[3]) / "B11.tif"
    gone.unlink()
    with pytest.raises(InputError, match=f"{gone}: missing band file"):
        write_shards(manifest, tmp_path / "shards", s2_bands=CSMAE_S2)
    assert not (tmp_path / "shards").exists()


def test_ssl4eo_v11_chunks_are_decoded_once_for_all_their_pairs(
    ssl4eo_v11_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release chunks bands by timestamp, many locations per chunk: a chunk read per
    pair decoded the same chunk again for every pair (about 10x the cost)."""
    from collections import Counter

    from zarr.storage import ZipStore

    from csmoe.index import build_index

    reads: Counter = Counter()
    original = ZipStore.get

    async def counting_get(self, key, *args, **kwargs):
        if key.startswith("bands/") and not key.endswith((".zarray", ".zattrs")):
            reads[(Path(self.path).parent.name, key)] += 1
        return await original(self, key, *args, **kwargs)

    build_index("ssl4eo-s12-v1.1", tmp_path / "index.parquet", root=ssl4eo_v11_root)
    index = pd.read_parquet(tmp_path / "index.parquet")
    manifest = index[index["split"] == "train"].sample(frac=1, random_state=0)
    manifest.assign(order=range(len(manifest))).to_parquet(tmp_path / "manifest.parquet")
    monkeypatch.setattr(ZipStore, "get", counting_get)
    write_shards(tmp_path / "manifest.parquet", tmp_path / "shards", shard_size=3)
    # Two locations x four timestamps, one chunk per timestamp and file, each read once.
    assert len(reads) == 8 and set(reads.values()) == {1}
    assert {modality for modality, _ in reads} == {"S2L2A", "S1GRD"}


def test_bench_ssl4eo_times_both_shard_readers(tmp_path: Path) -> None:
    from csmoe.bench import run_benchmark

    result = run_benchmark("ssl4eo", 6, tmp_path)
    assert result["pairs"] == 6 and result["s2_bands"] == list(CSMAE_S2)
    rates = [k for k in result if k.endswith("_pairs_per_s_per_core")]
    assert len(rates) == 3 and all(result[k] > 0 for k in rates)
    ratio = result["ssl4eo_v1_pairs_per_s_per_core"] / result["bigearthnet_v1_pairs_per_s_per_core"]
    assert result["ssl4eo_vs_bigearthnet"] == pytest.approx(ratio)
    assert list(tmp_path.iterdir()) == []  # its files are gone
