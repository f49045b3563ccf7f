"""Global batches for pretraining: world-size invariant, resumable at any step, exact rows."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torch.utils.data import DataLoader

from csmoe.data.shard_format import ShardFile, band_norm, normalise, read_index, read_stats
from csmoe.errors import InputError
from csmoe.training.batches import GlobalBatches, all_finite
from csmoe.training.inputs import InputPreparer, flip
from csmoe.training.schedule import scaled_lr, warmup_cosine


def batches(shards: Path, world: int = 1, rank: int = 0, **kwargs) -> GlobalBatches:
    options = {"batch_size": 8, "seed": 5, "start_step": 0, "steps": 10} | kwargs
    return GlobalBatches(shards, rank=rank, world_size=world, **options)


@pytest.mark.parametrize("world", [2, 4])
def test_a_step_reads_the_same_samples_and_flips_for_any_world_size(shards, world) -> None:
    single = batches(shards)
    for step in range(6):
        parts = [batches(shards, world, rank) for rank in range(world)]
        positions = np.concatenate([p.positions(step) for p in parts])
        flips = np.concatenate([p.flip_flags(step) for p in parts])
        np.testing.assert_array_equal(positions, single.positions(step))
        np.testing.assert_array_equal(flips, single.flip_flags(step))


def test_each_epoch_is_a_fresh_permutation_without_repeats(shards) -> None:
    data = batches(shards)
    assert data.samples == 20 and data.steps_per_epoch == 2  # the last 4 samples dropped
    epochs = [np.concatenate([data.positions(s) for s in range(e * 2, e * 2 + 2)]) for e in (0, 1)]
    for seen in epochs:
        assert len(set(seen.tolist())) == 16
    assert not np.array_equal(epochs[0], epochs[1])
    assert np.array_equal(batches(shards).positions(3), data.positions(3))  # seeded
    assert not np.array_equal(batches(shards, seed=6).positions(3), data.positions(3))


def test_rows_equal_an_independent_safetensors_read(shards) -> None:
    data = batches(shards, flips=False)
    index, stats = read_index(shards), read_stats(shards)
    expected = []
    for shard in index["shards"]:  # every sample in shard order, via the safetensors library
        with safe_open(str(shards / shard["file"]), framework="numpy") as handle:
            expected.extend(handle.get_tensor("s2"))
    expected = normalise(np.stack(expected), band_norm(stats, index["s2_bands"]))
    batch = data.batch(1)
    np.testing.assert_array_equal(batch["s2"].numpy(), expected[data.positions(1)])
    assert batch["s1"].shape == (8, 2, 120, 120) and batch["step"] == 1


def test_flips_are_applied_to_both_sensors(shards) -> None:
    plain, flipped = batches(shards, flips=False).batch(0), batches(shards).batch(0)
    for i, (horizontal, vertical) in enumerate(batches(shards).flip_flags(0)):
        for sensor in ("s1", "s2"):
            image = plain[sensor][i].numpy()
            image = image[:, :, ::-1] if horizontal else image
            image = image[:, ::-1, :] if vertical else image
            np.testing.assert_array_equal(flipped[sensor][i].numpy(), image)


@pytest.mark.parametrize("flips", [False, True])
def test_stored_rows_prepared_later_equal_the_rows_prepared_in_the_reader(shards, flips) -> None:
    """The GPU path (stored rows, prepared by `model_inputs`) gives the CPU path's values."""
    in_reader = batches(shards, flips=flips)
    stored = batches(shards, flips=flips, prepare_in_reader=False)
    for step in (0, 3):
        rows = stored.batch(step)
        assert rows["s2"].dtype == torch.uint16 and rows["s1"].dtype == torch.float16
        assert (rows["flips"] is None) == (not flips)
        expected = in_reader.model_inputs(in_reader.batch(step), torch.device("cpu"))
        got = stored.model_inputs(rows, torch.device("cpu"))
        for sensor in ("s1", "s2"):
            assert got[sensor].dtype == torch.float32
            assert torch.equal(got[sensor], expected[sensor])


def test_both_preparations_equal_numpy_normalisation_bit_for_bit(shards) -> None:
    index, stats = read_index(shards), read_stats(shards)
    norm = {s: band_norm(stats, index[f"{s}_bands"]) for s in ("s1", "s2")}
    rng = np.random.default_rng(0)
    rows = {
        "s2": rng.integers(0, 2**16, (4, len(index["s2_bands"]), 5, 7), dtype=np.uint16),
        "s1": rng.normal(-12, 6, (4, 2, 5, 7)).astype(np.float16),
    }
    flags = torch.tensor([[False, False], [True, False], [False, True], [True, True]])
    tensors = {s: torch.from_numpy(v) for s, v in rows.items()}
    preparer = InputPreparer(norm)
    for prepare in (preparer.with_numpy, preparer.with_torch):  # CPU runs, GPU runs
        plain, flipped = prepare(tensors, None), prepare(tensors, flags)
        for sensor, values in rows.items():
            expected = normalise(values, norm[sensor])
            np.testing.assert_array_equal(plain[sensor].numpy(), expected)
            for i, (horizontal, vertical) in enumerate(flags.tolist()):
                image = expected[i, :, :, ::-1] if horizontal else expected[i]
                image = image[:, ::-1, :] if vertical else image
                np.testing.assert_array_equal(flipped[sensor][i].numpy(), image)


def test_flip_mirrors_each_image_by_its_own_flags() -> None:
    images = torch.arange(4 * 2 * 3 * 5, dtype=torch.float32).view(4, 2, 3, 5)
    flags = torch.tensor([[False, False], [True, False], [False, True], [True, True]])
    flipped = flip(images, flags)
    for i, dims in enumerate([(), (-1,), (-2,), (-2, -1)]):
        assert torch.equal(flipped[i], images[i].flip(dims) if dims else images[i])


def test_iteration_starts_at_the_resume_step(shards) -> None:
    assert [b["step"] for b in batches(shards, start_step=7, steps=10)] == [7, 8, 9]


def test_too_few_samples_or_an_uneven_split_is_refused(shards) -> None:
    with pytest.raises(InputError, match="20 samples, fewer than one batch of 32"):
        batches(shards, batch_size=32)
    with pytest.raises(InputError, match="8 is not divisible by 3 processes"):
        batches(shards, world=3)


def test_warmup_then_cosine_to_the_floor() -> None:
    peak, total, warmup = 1e-3, 100, 10
    rates = [warmup_cosine(s, total, warmup, peak, 1e-5) for s in range(total)]
    assert rates[0] == pytest.approx(peak / 10) and rates[9] == pytest.approx(peak)
    assert all(a < b for a, b in zip(rates[:10], rates[1:10], strict=False))
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))
    halfway = 10 + 45
    assert rates[halfway] == pytest.approx(1e-5 + (peak - 1e-5) * 0.5 * (1 + math.cos(math.pi / 2)))
    assert rates[-1] == pytest.approx(
        1e-5 + (peak - 1e-5) * 0.5 * (1 + math.cos(math.pi * 89 / 90))
    )
    assert scaled_lr(1e-4, 256) == pytest.approx(2e-4)


def copy_of(shards: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    return copy


def test_a_truncated_shard_is_named_before_training(shards, tmp_path) -> None:
    broken = copy_of(shards, tmp_path)
    shard = broken / "shard-00001.safetensors"
    shard.write_bytes(shard.read_bytes()[:-1000])
    with pytest.raises(InputError, match=r"shard-00001.safetensors: truncated shard \("):
        batches(broken)
    (broken / "shard-00001.safetensors").unlink()
    with pytest.raises(InputError, match="shard listed in index.json is missing"):
        batches(broken)


def test_float16_finiteness_from_the_bits_agrees_with_numpy() -> None:
    special = [0.0, -0.0, 6e-8, -6e-8, 65504.0, -65504.0, np.inf, -np.inf, np.nan, 1.5]
    values = np.array(special, dtype=np.float16)
    for i in range(len(values)):
        assert all_finite(values[i : i + 1]) == bool(np.isfinite(values[i]))
    assert all_finite(np.zeros((0, 2), np.float16)) and not all_finite(values)


@pytest.mark.parametrize("value", [np.nan, -np.inf])
@pytest.mark.parametrize("workers", [0, 2])
def test_a_non_finite_s1_pixel_is_named_by_shard_and_sample(shards, tmp_path, value, workers):
    """Stored rows (the GPU path) are checked before they leave the reader."""
    broken = copy_of(shards, tmp_path)
    path = broken / "shard-00001.safetensors"
    handle = ShardFile(path)
    _, shape, offset = handle.tensors["s1"]
    sample_bytes = int(np.prod(shape[1:])) * 2
    start = handle.data_start + offset + 3 * sample_bytes + 2 * 500  # sample 3, pixel 500
    with open(path, "r+b") as file:
        file.seek(start)
        file.write(np.array([value], np.float16).tobytes())
    data = batches(broken, prepare_in_reader=False).for_steps(0, 10)
    loader = DataLoader(data, batch_size=None, num_workers=workers,
                        multiprocessing_context="spawn" if workers else None)  # fmt: skip
    errors = {tuple(item["error"]) for item in loader if "error" in item}
    assert errors == {(str(path), "S1 of sample 3 holds NaN or infinite values")}


def test_loader_workers_send_bad_input_back_as_data(shards, tmp_path) -> None:
    """With two spawn workers (the CLI default) a read error reaches training intact."""
    broken = copy_of(shards, tmp_path)
    data = batches(broken, flips=False)
    for shard in broken.glob("shard-*.safetensors"):  # cut short after the headers were read
        shard.write_bytes(shard.read_bytes()[:2000])
    loader = DataLoader(data.for_steps(0, 4), batch_size=None, num_workers=2,
                        multiprocessing_context="spawn")  # fmt: skip
    items = list(loader)
    errors = [item["error"] for item in items if "error" in item]
    assert len(errors) == 2  # each worker reports its first bad step, then stops
    where, problem = errors[0]
    assert where.endswith(".safetensors") and problem.startswith("truncated shard (row")
