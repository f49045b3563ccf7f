"""Command-line behaviour shared by every stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from csmoe.atomic import atomic_path
from csmoe.bigearthnet.names import acquisition_times, utm_bounds_from_s1_names
from csmoe.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_python_dash_m_entry_point_reports_errors_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "csmoe", "index", "bigearthnet-v2",
         "--root", str(tmp_path / "none"), "--out", str(tmp_path / "x.parquet")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"csmoe: error: {tmp_path / 'none'}: BigEarthNet v2 root folder does not exist"
    )


def test_missing_required_root_option(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["index", "bigearthnet-v1", "--s1-root", "x", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--s2-root: required for kind bigearthnet-v1" in capsys.readouterr().err


def test_check_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["check-config", str(REPO / "config" / "config.yaml")]) == 0
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["index"]["skip_bad"] = "yes"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    assert main(["check-config", str(bad)]) == 2
    assert "config key index.skip_bad: 'yes' is not of type 'boolean'" in capsys.readouterr().err


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_a_folder_without_a_moment_without_it(tmp_path: Path) -> None:
    """A reader polling the target while it is replaced always finds a complete folder."""
    import threading

    from csmoe.atomic import atomic_dir, exchange

    target = tmp_path / "shards"
    target.mkdir()
    (target / "index.json").write_text("old")
    missing, done = [], threading.Event()

    def poll() -> None:
        # The folder at the path must never be missing (atomic_dir fills a folder before it
        # takes the path). Its files are not polled: a reader that looked up the old folder
        # just before the swap may see it being deleted afterwards, which is no gap.
        while not done.is_set():
            if not target.is_dir():
                missing.append(1)

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for version in range(200):
            with atomic_dir(target) as tmp:
                (tmp / "index.json").write_text(str(version))
    finally:
        done.set()
        reader.join()
    assert (target / "index.json").read_text() == "199"
    assert [p.name for p in tmp_path.iterdir()] == ["shards"]  # no temporary leftovers
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "only_in_a").touch()
    if exchange(a, b):  # Linux: one atomic swap
        assert (b / "only_in_a").exists() and not (a / "only_in_a").exists()
        assert missing == []


def test_stale_temporary_folders_of_dead_runs_only_are_removed(tmp_path: Path) -> None:
    import os
    import socket

    from csmoe.atomic import remove_stale

    host = socket.gethostname()
    live = tmp_path / f".shards.{host}-{os.getpid()}.abc.tmp"
    dead = tmp_path / f".shards.{host}-999999999.abc.tmp"  # no such process
    other_host = tmp_path / ".shards.elsewhere-1.abc.tmp"
    for folder in (live, dead, other_host):
        folder.mkdir()
    remove_stale(tmp_path / "shards")
    assert live.exists() and other_host.exists() and not dead.exists()


def test_name_parsing_rejects_foreign_names() -> None:
    with pytest.raises(ValueError, match="not a BigEarthNet S1 patch name: 'S2A_MSIL2A_x'"):
        utm_bounds_from_s1_names(["S2A_MSIL2A_x"])
    with pytest.raises(ValueError, match="no acquisition time"):
        acquisition_times(["S1A_IW_GRDH_1SDV_33UUP_87_48"])


def test_unpadded_s2_times() -> None:
    times = acquisition_times(["S2B_MSIL2A_20170924T93020_69_24", "S2A_MSIL2A_20170613T101031_1_2"])
    assert [str(t) for t in times] == ["2017-09-24T09:30:20", "2017-06-13T10:10:31"]


POOL_THEN_WAIT = """
import sys, time
from csmoe.parallel import process_pool
pool = process_pool(2)
pids = [pool.submit(__import__("os").getpid).result() for _ in range(4)]
print(" ".join(map(str, sorted(set(pids)))), flush=True)
jobs = [pool.submit(time.sleep, 60) for _ in range(2)]
time.sleep(60)
"""


def test_pool_workers_end_when_their_parent_is_killed() -> None:
    import signal
    import time

    parent = subprocess.Popen([sys.executable, "-c", POOL_THEN_WAIT], stdout=subprocess.PIPE,
                              text=True, cwd=REPO)  # fmt: skip
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in workers if _running(pid)]
    assert alive == [], f"workers {alive} outlived their killed parent"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # zombies have ended
    except FileNotFoundError:
        return False


def test_progress_lines_in_a_log_and_silence_for_short_runs(capsys) -> None:
    from csmoe.progress import LONG, progress

    assert list(progress(range(5), 5, "index", "patches")) == list(range(5))
    assert capsys.readouterr().err == ""
    n = 10 * LONG
    assert sum(1 for _ in progress(range(n), n, "index", "patches")) == n
    lines = capsys.readouterr().err.splitlines()  # not a terminal: plain lines
    assert len(lines) == 10 and lines[-1].startswith(f"index: {n:,}/{n:,} patches")
