"""A job ends with the workflow run that started it.

Snakemake runs each job as ``bash -c '...'``, a child of its own process: when Snakemake
itself is killed (SIGKILL, an out-of-memory kill, a closed session), the shell and the
job go on as orphans, writing into a workflow whose lock is left behind. The workflow
exports the PID of the Snakemake process that plans the jobs (``CSMOE_WORKFLOW_PID``);
every ``python -m csmoe`` command started with it watches that process and ends itself
(SIGTERM, so its atomic writes leave no half-written output) once it is gone. The
process's start time is compared too, so a reused PID is not taken for it.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

VARIABLE = "CSMOE_WORKFLOW_PID"
INTERVAL_S = 1.0


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name


def alive(pid: int, started: str | None) -> bool:
    if Path("/proc").is_dir():
        return started is not None and start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_workflow() -> threading.Thread | None:
    """Watch the workflow's process named by CSMOE_WORKFLOW_PID (if any) from a daemon
    thread; SIGTERM this process when it is gone."""
    value = os.environ.get(VARIABLE, "")
    if not value.isdigit():
        return None
    pid = int(value)
    started = start_time(pid)

    def run() -> None:
        stop = threading.Event()
        while not stop.wait(INTERVAL_S):
            if not alive(pid, started):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=run, name="csmoe-watchdog", daemon=True)
    thread.start()
    return thread
