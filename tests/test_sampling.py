"""Allocation, spread, samplers, pool exclusions and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from csmoe.errors import InputError
from csmoe.sampling.allocation import allocate
from csmoe.sampling.metrics import mean_nn_hellinger, mean_nn_km, selection_metrics
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
    assert ours["mean_nn_km"] > baseline["mean_nn_km"]
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
    broken.loc[3, "climate_group"] = None
    with pytest.raises(InputError, match="1 pool patches have no climate descriptor"):
        sample("thematic_climatic", broken, 10, seed=0)
    with pytest.raises(InputError, match="level 3 needs land-cover descriptors"):
        sample(
            "thematic_climatic", pool.drop(columns="landcover_l3"), 10, seed=0, landcover_level="3"
        )
    nothing = pool.assign(split="test")
    with pytest.raises(InputError, match="no patch is left after the exclusions"):
        training_pool(nothing)


def test_patches_without_land_cover_follow_the_policy() -> None:
    """Outside a product's coverage: a climate-only stratum of their own, or an error that
    names coverage as the cause."""
    pool = make_pool(200)
    pool.loc[[3, 7, 11], "landcover_l2"] = None
    keys = strata(pool, "group", "2")
    assert set(keys[[3, 7, 11]]) <= {f"{g}|none" for g in "ABCDE"}
    assert not keys.drop([3, 7, 11]).str.endswith("|none").any()
    manifest = sample("full", pool, None, seed=0)
    assert manifest["stratum"].str.endswith("|none").sum() == 3
    with pytest.raises(
        InputError, match=r"3 pool patches have no land-cover descriptor .*coverage"
    ):
        sample("thematic_climatic", pool, 10, seed=0, no_landcover="error")


def brute_force_nn(distances: np.ndarray) -> np.ndarray:
    np.fill_diagonal(distances, np.inf)
    return distances.min(axis=1)


def test_mean_nn_hellinger_oracle() -> None:
    """Against the Hellinger distance written out, block by block, over all pairs."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.dirichlet(np.ones(4), 300), columns=[f"kg_{c}" for c in "ABCD"])
    table[["clc2_11", "clc2_21", "clc2_31"]] = rng.dirichlet(np.ones(3), 300)
    climate, cover = table.iloc[:, :4].to_numpy(), table.iloc[:, 4:].to_numpy()

    def hellinger2(p: np.ndarray) -> np.ndarray:
        return 0.5 * ((np.sqrt(p[:, None]) - np.sqrt(p[None])) ** 2).sum(axis=-1)

    pairwise = np.sqrt((hellinger2(climate) + hellinger2(cover)) / 2)
    assert mean_nn_hellinger(table) == pytest.approx(brute_force_nn(pairwise).mean())
    twins = pd.concat([table.iloc[:5]] * 2)  # every patch has a twin: no diversity
    assert mean_nn_hellinger(twins) == 0.0


def test_mean_nn_km_oracle() -> None:
    """Against the haversine formula over all pairs (mean Earth radius)."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-10, 30, 200), rng.uniform(35, 70, 200)
    table = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs="EPSG:4326")
    lam, phi = np.radians(lon), np.radians(lat)
    dphi, dlam = phi[:, None] - phi[None], lam[:, None] - lam[None]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi[:, None]) * np.cos(phi[None]) * np.sin(dlam / 2) ** 2
    pairwise = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    assert mean_nn_km(table) == pytest.approx(brute_force_nn(pairwise).mean())


def test_farthest_points_never_repeat_coinciding_rows() -> None:
    """8 identical rows, 5 asked: 5 distinct rows (was row 0 five times)."""
    from csmoe.sampling.spread import farthest_points, spread_selection

    assert sorted(farthest_points(np.zeros((8, 3)), 5).tolist()) == [0, 1, 2, 3, 4]
    twins = np.repeat(np.eye(3), 4, axis=0)  # 3 points, 4 rows each
    picked = farthest_points(twins, 9)
    assert len(set(picked.tolist())) == 9
    assert {int(p) // 4 for p in picked[:3]} == {0, 1, 2}  # distinct points first
    rng = np.random.default_rng(0)
    chosen = spread_selection(np.zeros((8, 2)), np.zeros((8, 4)), 5, rng)
    assert len(set(chosen.tolist())) == 5


def test_locations_listed_once_per_timestamp_give_distinct_patches(tmp_path: Path) -> None:
    """SSL4EO-S12 lists each location once per timestamp (same footprint and
    descriptors): a stratum's quota is filled with distinct patches, every location
    first, and the metrics count the distinct footprints."""
    pool = make_pool(48, seed=3)
    pool["patch_id"] = [f"{i // 4:07d}_{i % 4}" for i in range(48)]
    location_rows = pool.iloc[::4]
    repeated = location_rows.loc[location_rows.index.repeat(4)].reset_index(drop=True)
    repeated["patch_id"] = pool["patch_id"].to_numpy()
    repeated["split"] = "train"
    repeated["snow"] = repeated["cloud"] = False
    path = tmp_path / "descriptors.parquet"
    gpd.GeoDataFrame(repeated, geometry="geometry", crs="EPSG:4326").to_parquet(path)
    metrics_path = tmp_path / "m.json"
    manifest = run_sampling(path, "thematic_climatic", tmp_path / "m.parquet", metrics_path,
                            size=30, seed=0, landcover_level="none")  # fmt: skip
    assert manifest["patch_id"].is_unique and len(manifest) == 30
    metrics = json.loads(metrics_path.read_text())
    assert metrics["shortfall"] == 0 and metrics["distinct_footprints"] == 12


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


def test_sampling_report_names_the_archive_and_draws_land(tmp_path: Path, koppen) -> None:
    from PIL import Image

    from csmoe.sampling.basemap import LAND, SEA
    from csmoe.sampling.run import write_sampling_report

    path = tmp_path / "descriptors.parquet"
    make_pool(800).to_parquet(path)
    manifests, metrics = {}, {}
    for sampler in ("thematic_climatic", "random", "full"):
        manifests[sampler] = tmp_path / f"{sampler}.parquet"
        metrics[sampler] = tmp_path / f"{sampler}.json"
        size = None if sampler == "full" else 50
        run_sampling(path, sampler, manifests[sampler], metrics[sampler], size=size, seed=0)
    out = {name: tmp_path / name for name in ("sampling.tsv", "map.png", "dist.png")}
    write_sampling_report("alps", path, manifests, metrics, table_out=out["sampling.tsv"],
                          map_out=out["map.png"], distributions_out=out["dist.png"],
                          koppen=koppen)  # fmt: skip
    table = pd.read_csv(out["sampling.tsv"], sep="\t")
    assert list(table["archive"]) == ["alps"] * 3
    assert list(table["sampler"]) == ["thematic_climatic", "random", "full"]
    assert list(table["archive_patches"]) == [800] * 3
    assert (table["mean_nn_km"] > 0).all()
    with Image.open(out["map.png"]) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in (SEA, LAND)}
    for colour in colours:  # sea and land under the points
        assert (pixels == colour).all(axis=1).mean() > 0.05, colour


def test_class_names() -> None:
    from csmoe.descriptors.class_names import clc_name, koppen_name

    assert koppen_name("Cfb") == "Cfb temperate, no dry season, warm summer"
    assert koppen_name("BWh") == "BWh arid, desert, hot"
    assert koppen_name("Dwd") == "Dwd cold, dry winter, very cold winter"
    assert koppen_name("ET") == "ET polar, tundra"
    assert koppen_name("Ocean") == "Ocean"
    assert clc_name(12, "2") == "12 Industrial, commercial and transport units"
    assert clc_name("311", "3") == "311 Broad-leaved forest"


def test_land_mask_from_the_koppen_raster(koppen) -> None:
    from csmoe.sampling.basemap import Extent, land_mask

    extent = Extent(-10.0, 35.0, 30.0, 70.0)
    mask = land_mask(*koppen, ("Ocean",), extent, pixels=400)
    rows, cols = mask.land.shape
    assert cols == 400 and rows == 350  # 40 x 35 degrees

    def at(lon: float, lat: float) -> bool:
        col = int((lon - extent.west) / (extent.east - extent.west) * cols)
        row = int((extent.north - lat) / (extent.north - extent.south) * rows)
        return bool(mask.land[row, col])

    assert at(10.0, 47.0) and at(-4.0, 40.0) and at(25.0, 62.0)  # Alps, Spain, Finland
    assert not at(3.0, 55.0) and not at(18.0, 35.5)  # North Sea, Ionian Sea
    assert extent.aspect == pytest.approx(1 / np.cos(np.radians(52.5)))


def test_sampling_map_of_a_large_pool_shows_the_selected_share_per_cell(tmp_path: Path) -> None:
    """A pool too large for points is drawn per cell, as the share of its patches each
    sampler took: random takes about the overall share everywhere, thematic-climatic
    more of the rare climate's cells (make_pool's ET patches, moved 20 degrees west)."""
    from PIL import Image

    from csmoe.sampling import report

    pool, _ = training_pool(make_pool(6000))
    rare_rows = (pool["climate"] == "ET").to_numpy()
    pool.loc[rare_rows, "geometry"] = pool.geometry[rare_rows].translate(xoff=-20)
    drawn = {name: sample(name, pool, 600, seed=0) for name in ("thematic_climatic", "random")}
    cells = {name: report.cell_shares(pool, manifest) for name, manifest in drawn.items()}
    for name, table in cells.items():
        assert table["pool"].sum() == len(pool) and table["selected"].sum() == 600, name
        assert np.allclose(table["share"], table["selected"] / table["pool"])
        assert (table["lon"] % 1 == 0).all() and table[["lon", "lat"]].duplicated().sum() == 0
    rare = {name: t.loc[t["lon"] < -2, ["selected", "pool"]].sum() for name, t in cells.items()}
    assert rare["random"]["pool"] == rare_rows.sum()
    overall = 600 / len(pool)
    assert rare["thematic_climatic"]["selected"] / rare["thematic_climatic"]["pool"] > 3 * overall
    assert rare["random"]["selected"] / rare["random"]["pool"] < 2 * overall
    out = {mode: tmp_path / f"{mode}.png" for mode in ("cells", "points")}
    report.plot_map("alps", pool, drawn, out["cells"], points_up_to=1000)
    report.plot_map("alps", pool, drawn, out["points"], points_up_to=len(pool))
    report.plot_map("alps", pool, drawn, tmp_path / "again.png", points_up_to=1000)
    assert (tmp_path / "again.png").read_bytes() == out["cells"].read_bytes()  # deterministic
    with Image.open(out["cells"]) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    # The colour scale is diverging: red cells (above the overall share) in the
    # thematic-climatic panel, on the left; a colour bar under the panels.
    left = pixels[:, : pixels.shape[1] // 2].reshape(-1, 3)
    red = (left[:, 0] > 150) & (left[:, 2] < 110) & (left[:, 1] < 110)
    assert red.mean() > 0.002
    with Image.open(out["points"]) as image:
        assert image.size[1] < pixels.shape[0]  # the cells figure is taller: its colour bar
