"""What a run tells its user: ``log.jsonl`` (one JSON object per step), ``timing.jsonl``
and progress.

``log.jsonl`` holds what the run computed (losses, learning rate, gradient norm, expert
shares): the same for the same seed, byte for byte. What the machine measured (samples
per second, peak GPU memory) goes to ``timing.jsonl``, one object per step with its
``step``, so that two identical runs differ in that file only. Progress is a tqdm bar
with ETA on a terminal, and plain lines (every tenth of the run, at least once a minute)
when the output is a file, e.g. a SLURM log.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

TIMING = "timing.jsonl"


class RunLog:
    """Appends one JSON line per step to the log and to the timing file beside it; on
    resume, the log starts from the checkpoint's copy and the timing file keeps the
    steps up to the checkpoint."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled
        self.timing = path.with_name(TIMING)

    def start(self, checkpoint_log: Path | None, step: int = 0) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if checkpoint_log is not None and checkpoint_log.is_file():
            shutil.copyfile(checkpoint_log, self.path)
        else:
            self.path.write_text("")
        kept = [t for t in read_log(self.timing) if t.get("step", 0) <= step] if (
            step and self.timing.is_file()
        ) else []  # fmt: skip
        self.timing.write_text("".join(json.dumps(t) + "\n" for t in kept))

    def write(self, entry: dict, timing: dict) -> None:
        if self.enabled:
            for path, values in ((self.path, entry), (self.timing, timing)):
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(_finite(values)) + "\n")


def _finite(value):
    """JSON has no NaN or infinity: a non-finite number is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _number(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else str(value)


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Progress:
    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.bar = None
        self.every = max(1, total // 10)
        self.last_line = time.monotonic()
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, step: int, entry: dict, timing: dict) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=_number(entry["loss"]), lr=f"{entry['lr']:.2e}")
            return
        now = time.monotonic()
        if step % self.every == 0 or step == self.total or now - self.last_line > 60:
            self.last_line = now
            rate = timing.get("samples_per_s") or 0.0
            print(
                f"step {step}/{self.total} loss {_number(entry['loss'])} lr {entry['lr']:.2e} "
                f"{rate:.1f} samples/s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
