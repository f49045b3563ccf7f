"""Allocation, spread, samplers, pool exclusions and metrics."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from csmoe.errors import InputError
from csmoe.sampling.allocation import allocate
from csmoe.sampling.metrics import mean_nn_distance, selection_metrics
from csmoe.sampling.pool import training_pool
from csmoe.sampling.run import run_sampling
from csmoe.sampling.samplers import sample, strata
from csmoe.sampling.spread import bit_reversed_order, morton_keys

CLIMATES = ["Cfb", "Dfc", "Csa", "BSk", "ET"]
LANDCOVER = [211, 231, 312, 311, 512, 332]


def make_pool(n: int = 6000, seed: int = 0) -> gpd.GeoDataFrame:
    """Described patches with skewed strata: a few common, many rare."""
    rng = np.random.default_rng(seed)
    climate = rng.choice(CLIMATES, size=n, p=[0.6, 0.25, 0.1, 0.04, 0.01])
    cover = rng.choice(LANDCOVER, size=n, p=[0.5, 0.25, 0.15, 0.06, 0.03, 0.01])
    lon = rng.normal(10, 2, n) + (climate == "Dfc") * 12
    lat = rng.normal(48, 2, n) + (climate == "Dfc") * 14
    table = pd.DataFrame(
        {
            "patch_id": [f"P{i:05d}" for i in range(n)],
            "split": rng.choice(["train", "validation", "test"], size=n, p=[0.8, 0.1, 0.1]),
            "snow": pd.array(rng.random(n) < 0.05, dtype="boolean"),
            "cloud": pd.array(rng.random(n) < 0.05, dtype="boolean"),
            "labels_19": [["Arable land"]] * n,
            "climate": climate,
            "climate_group": [c[0] for c in climate],
            "landcover_l3": cover,
            "landcover_l2": cover // 10,
        }
    )
    for c in CLIMATES:
        table[f"kg_{c}"] = (climate == c).astype(np.float32)
    for code in sorted({c // 10 for c in LANDCOVER}):
        main = (cover // 10 == code).astype(np.float32)
        table[f"clc2_{code}"] = main * rng.uniform(0.5, 1.0, n)
    boxes = shapely.box(lon, lat, lon + 0.01, lat + 0.01)
    return gpd.GeoDataFrame(table, geometry=boxes, crs="EPSG:4326")


def test_allocation_sums_caps_and_redistributes() -> None:
    sizes = pd.Series({"a": 1000, "b": 100, "c": 10, "d": 1})
    for alpha in (0.0, 0.5, 1.0):
        budget = allocate(sizes, 300, alpha)
        assert budget.sum() == 300 and (budget <= sizes).all()
    # Equal shares of 75; c, d and then b are capped, a takes the rest.
    assert allocate(sizes, 300, 0.0).to_dict() == {"a": 189, "b": 100, "c": 10, "d": 1}
    proportional = allocate(pd.Series({"a": 600, "b": 300, "c": 100}), 100, 1.0)
    assert proportional.to_dict() == {"a": 60, "b": 30, "c": 10}
    assert allocate(sizes, 1111, 0.3).equals(sizes)
    with pytest.raises(ValueError):
        allocate(sizes, 1112, 0.5)


def test_bit_reversed_order_is_a_spread_permutation() -> None:
    order = bit_reversed_order(10)
    assert sorted(order) == list(range(10))
    assert sorted(order[:4]) == [0, 2, 4, 6] or max(np.diff(sorted(order[:4]))) <= 4


def test_morton_keys_keep_neighbours_close() -> None:
    points = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0], [0.99, 1.0]])
    keys = morton_keys(points)
    assert abs(int(keys[0]) - int(keys[1])) < abs(int(keys[0]) - int(keys[2]))


def test_pool_keeps_only_clean_train_patches() -> None:
    table = make_pool(1000)
    table.loc[0, "snow"] = pd.NA  # unknown flag: kept
    table.loc[0, "split"] = "train"
    table.at[1, "labels_19"] = []
    table.loc[1, ["split", "snow", "cloud"]] = ["train", False, False]
    pool, removed = training_pool(table)
    assert (pool["split"] == "train").all() and not pool["snow"].fillna(False).any()
    assert "P00000" in set(pool["patch_id"]) and "P00001" not in set(pool["patch_id"])
    assert removed["no_labels"] == 1 and sum(removed.values()) + len(pool) == len(table)


@pytest.mark.parametrize("sampler", ["thematic_climatic", "random"])
def test_samplers_are_deterministic_per_seed(sampler: str) -> None:
    pool = make_pool()
    first = sample(sampler, pool, 500, seed=7)
    assert first.equals(sample(sampler, pool, 500, seed=7))
    assert not first["patch_id"].equals(sample(sampler, pool, 500, seed=8)["patch_id"])
    assert first["patch_id"].is_unique and list(first["order"]) == list(range(500))


def test_thematic_climatic_beats_random_on_coverage_and_diversity() -> None:
    pool = make_pool()
    keys = strata(pool, "class", "3")
    scores = {
        name: selection_metrics(
            pool, keys, sample(name, pool, 300, seed=1, climate_level="class", landcover_level="3")
        )
        for name in ("thematic_climatic", "random")
    }
    ours, baseline = scores["thematic_climatic"], scores["random"]
    assert ours["strata_covered"] == ours["strata_total"] > baseline["strata_covered"]
    assert ours["entropy_strata"] > baseline["entropy_strata"] + 0.3
    assert ours["mean_nn_distance"] > baseline["mean_nn_distance"]
    assert ours["cells_1deg"] >= baseline["cells_1deg"]
    assert ours["js_climate"] > baseline["js_climate"]  # the price: less proportional


def test_thematic_weights_reconstruct_the_sampled_strata() -> None:
    pool = make_pool()
    manifest = sample("thematic_climatic", pool, 400, seed=0, landcover_level="2")
    keys = strata(pool, "group", "2")
    sizes = keys.value_counts()
    assert manifest["weight"].sum() == pytest.approx(sizes[manifest["stratum"].unique()].sum())
    # Every prefix is stratified: the first 10 % already touch most strata.
    prefix = manifest[manifest["order"] < 40]
    assert prefix["stratum"].nunique() >= 0.6 * manifest["stratum"].nunique()


def test_full_is_the_pool_and_alpha_one_is_proportional() -> None:
    pool = make_pool()
    assert len(sample("full", pool, None, seed=0)) == len(pool)
    proportional = sample("thematic_climatic", pool, 600, seed=0, alpha=1.0, landcover_level="none")
    shares = proportional["stratum"].value_counts(normalize=True)
    expected = strata(pool, "group", "none").value_counts(normalize=True)
    assert (shares - expected.reindex(shares.index)).abs().max() < 0.01


def test_errors_for_size_and_missing_descriptors() -> None:
    pool = make_pool(200)
    with pytest.raises(
        InputError, match="sampling.size: 500 patches requested, but the pool holds only 200"
    ):
        sample("random", pool, 500, seed=0)
    broken = pool.copy()
    broken.loc[3, "landcover_l2"] = None
    with pytest.raises(InputError, match="1 pool patches have no stratum"):
        sample("thematic_climatic", broken, 10, seed=0)
    with pytest.raises(InputError, match="level 3 needs land-cover descriptors"):
        sample(
            "thematic_climatic", pool.drop(columns="landcover_l3"), 10, seed=0, landcover_level="3"
        )
    nothing = pool.assign(split="test")
    with pytest.raises(InputError, match="no patch is left after the exclusions"):
        training_pool(nothing)


def test_mean_nn_distance_oracle() -> None:
    from sklearn.neighbors import NearestNeighbors

    points = np.random.default_rng(0).random((300, 4))
    distances, _ = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points)
    assert mean_nn_distance(points) == pytest.approx(distances[:, 1].mean())


def test_run_sampling_writes_manifest_and_metrics_atomically(tmp_path: Path) -> None:
    table = make_pool(800)
    path = tmp_path / "descriptors.parquet"
    table.to_parquet(path)
    out, metrics = tmp_path / "m.parquet", tmp_path / "m.json"
    run_sampling(path, "thematic_climatic", out, metrics, size=50, seed=0)
    first = out.read_bytes()
    run_sampling(path, "thematic_climatic", out, metrics, size=50, seed=0)
    assert out.read_bytes() == first
    with pytest.raises(InputError, match="sampling.size"):
        run_sampling(
            path, "random", tmp_path / "x.parquet", tmp_path / "x.json", size=10**6, seed=0
        )
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.json").exists()
