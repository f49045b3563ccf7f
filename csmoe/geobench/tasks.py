"""The six GEO-Bench v1.0 tasks of the CSMoE study (its Table IV), by name.

For each task: its folder, the HDF5 dataset name of each band it provides (selected by
name, never by HDF5 key order: h5py lists keys alphabetically, which interleaves
m-so2sat's S1 and S2 bands), which of our encoder bands each one feeds, the label kind,
the class count and the metric. Two documented data bugs are corrected by default
(band mapping ``corrected``); ``as-named`` reads every channel under its GEO-Bench name,
as other reproductions do, and each result records which mapping produced it:

- **m-eurosat** (GEO-Bench issue #28): the converter stored the EuroSAT channels in the
  order B01-B12, B8A under the names B01-B08, B8A, B09-B12, so from ``08A`` on every name
  holds the next band: ``08A`` holds B09, ``09`` B10, ``10`` B11, ``11`` B12 and ``12``
  B8A. We read B8A from ``12 - SWIR``, B11 from ``10 - SWIR - Cirrus`` and B12 from
  ``11 - SWIR``.
- **m-brick-kiln** (issue #29): the converter named the 13 channels after the 13 L1C
  bands (``make_benchmark/dataset_converters/brick_kiln.py``), but the source export
  (mliu356/kiln-scaling, ``notebooks/get_images.ipynb``) wrote B1, B2, B3, B4, B5, B7,
  B8A, B8, B11, B12 and 8-bit true colour (TCI red, green, blue). So ``06`` holds B7,
  ``07`` B8A, ``08 - NIR`` B8, ``08A`` B11, ``09`` B12, and ``10``-``12`` the TCI. The
  release's own statistics agree: the ``08A``/``08`` mean ratio is 0.80 (B11 over B8),
  not the 1.0-1.1 of B8A over B8, and ``10``-``12`` never exceed 255. B6 and B9 are not
  in the files; the TCI channels are left out.

m-so2sat's S1 bands are linear intensities (So2Sat LCZ42 README: "Intensity of lee
filtered VH/VV signal"; GEO-Bench's statistics: VV mean 0.34, std 11.8), while our
encoders are pretrained on backscatter in dB: they are converted to dB (`DB_FLOOR` for
zeros) and z-scored with dB statistics of the task's training split.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

S2_NAMES = {
    "B01": "01 - Coastal aerosol", "B02": "02 - Blue", "B03": "03 - Green",
    "B04": "04 - Red", "B05": "05 - Vegetation Red Edge", "B06": "06 - Vegetation Red Edge",
    "B07": "07 - Vegetation Red Edge", "B08": "08 - NIR", "B8A": "08A - Vegetation Red Edge",
    "B09": "09 - Water vapour", "B10": "10 - SWIR - Cirrus", "B11": "11 - SWIR",
    "B12": "12 - SWIR",
}  # fmt: skip
CLOUD_PROBABILITY = "Cloud Probability"
BAND_MAPPINGS = ("corrected", "as-named")
DB_FLOOR = 1e-4  # linear intensity floor before dB: -40 dB, below Sentinel-1's noise floor


@dataclass(frozen=True)
class Task:
    name: str
    benchmark: str  # classification_v1.0 | segmentation_v1.0
    kind: str  # single-label | multi-label | segmentation
    classes: int
    metric: str  # micro_map | average_accuracy | miou
    # our band name -> the HDF5 dataset (band descriptor, without a date) that holds it
    s2: dict[str, str] = field(default_factory=dict)
    s1: dict[str, str] = field(default_factory=dict)
    # bands in the files that are read but fed to no encoder band (documented)
    unused: tuple[str, ...] = ()
    # S1 bands stored as linear intensity, converted to dB before normalisation
    s1_linear: bool = False
    # the GEO-Bench names read as such, where `s2` corrects a documented data bug
    as_named: tuple[dict[str, str], tuple[str, ...]] | None = None
    band_mapping: str = "corrected"

    @property
    def folder(self) -> str:
        return f"{self.benchmark}/{self.name}"


def _s2(*bands: str) -> dict[str, str]:
    return {band: S2_NAMES[band] for band in bands}


ALL_S2_BUT_B10 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
                  "B11", "B12")  # fmt: skip

TASKS = {
    task.name: task
    for task in (
        Task("m-bigearthnet", "classification_v1.0", "multi-label", 43, "micro_map",
             s2=_s2(*ALL_S2_BUT_B10)),
        Task("m-brick-kiln", "classification_v1.0", "single-label", 2, "average_accuracy",
             s2=_s2("B01", "B02", "B03", "B04", "B05")
             | {"B07": S2_NAMES["B06"], "B8A": S2_NAMES["B07"], "B08": S2_NAMES["B08"],
                "B11": S2_NAMES["B8A"], "B12": S2_NAMES["B09"]},
             unused=(S2_NAMES["B10"], S2_NAMES["B11"], S2_NAMES["B12"]),  # 8-bit TCI
             as_named=(_s2("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A",
                           "B09"), (S2_NAMES["B10"], S2_NAMES["B11"], S2_NAMES["B12"]))),
        Task("m-eurosat", "classification_v1.0", "single-label", 10, "average_accuracy",
             s2=_s2("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08")
             | {"B8A": S2_NAMES["B12"], "B09": S2_NAMES["B8A"], "B11": S2_NAMES["B10"],
                "B12": S2_NAMES["B11"]},
             unused=(S2_NAMES["B09"],),  # holds B10 (cirrus), which our encoders lack
             as_named=(_s2(*ALL_S2_BUT_B10), (S2_NAMES["B10"],))),
        Task("m-so2sat", "classification_v1.0", "single-label", 17, "average_accuracy",
             s2=_s2("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"),
             s1={"VV": "06 - VV.LEE Filtered", "VH": "05 - VH.LEE Filtered"},
             s1_linear=True),
        Task("m-cashew-plant", "segmentation_v1.0", "segmentation", 7, "miou",
             s2=_s2(*ALL_S2_BUT_B10), unused=(CLOUD_PROBABILITY,)),
        Task("m-SA-crop-type", "segmentation_v1.0", "segmentation", 10, "miou",
             s2=_s2(*ALL_S2_BUT_B10), unused=(CLOUD_PROBABILITY,)),
    )
}  # fmt: skip

# CSMoE Table IV (arXiv 2509.14104) as transcribed in a public reproduction: variant ->
# task -> score in % (micro mAP, average accuracy or mIoU).
PUBLISHED = {
    "CSMoE patch32": {"m-bigearthnet": 62.6, "m-brick-kiln": 93.2, "m-eurosat": 84.9,
                      "m-so2sat": 44.1, "m-cashew-plant": 46.0, "m-SA-crop-type": 35.8},
    "CSMoE patch28": {"m-bigearthnet": 65.1, "m-brick-kiln": 93.8, "m-eurosat": 84.9,
                      "m-so2sat": 46.3, "m-cashew-plant": 48.3, "m-SA-crop-type": 36.7},
    "CSMoE patch16": {"m-bigearthnet": 66.5, "m-brick-kiln": 94.3, "m-eurosat": 86.2,
                      "m-so2sat": 48.0, "m-cashew-plant": 55.7, "m-SA-crop-type": 38.6},
    "CSMoE patch14": {"m-bigearthnet": 66.0, "m-brick-kiln": 94.4, "m-eurosat": 88.3,
                      "m-so2sat": 49.6, "m-cashew-plant": 59.4, "m-SA-crop-type": 39.8},
}  # fmt: skip


def task(name: str, band_mapping: str = "corrected") -> Task:
    """A task with its bands mapped `band_mapping` (see the module docstring)."""
    if name not in TASKS:
        raise KeyError(f"unknown GEO-Bench task {name!r}; expected one of {sorted(TASKS)}")
    if band_mapping not in BAND_MAPPINGS:
        raise KeyError(f"unknown band mapping {band_mapping!r}; expected one of {BAND_MAPPINGS}")
    found = TASKS[name]
    if band_mapping == "corrected" or found.as_named is None:
        return replace(found, band_mapping=band_mapping)
    s2, unused = found.as_named
    return replace(found, s2=s2, unused=unused, band_mapping=band_mapping)
