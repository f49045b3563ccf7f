"""What each step computed, kept on the device and written a group of steps at a time.

Reading a loss or a gradient norm on the host waits for the GPU to finish the step, so
the next step's kernels are not queued while it runs: a launch-bound step (the Soft MoE
model's) loses that overlap every step. GPU runs therefore hold the step results on the
device and fetch a group of `SYNC_EVERY_ON_GPU` steps with one copy; the log lines, the
count of bad steps and the error they raise are the same as when each step is fetched
at once (CPU runs do that, and a test compares both).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from csmoe.errors import TrainingError
from csmoe.models.mae import LOSSES

TERMS = (*LOSSES, "loss")
SYNC_EVERY_ON_GPU = 16


def sync_every(device: torch.device) -> int:
    """Steps fetched together from `device`."""
    return SYNC_EVERY_ON_GPU if device.type == "cuda" else 1


@dataclass
class StepResult:
    step: int  # zero-based
    lr: float
    terms: torch.Tensor  # (len(TERMS),) float32, on the device
    grad_norm: torch.Tensor  # float32 scalar, on the device
    finite: torch.Tensor  # bool scalar, on the device: the optimizer stepped
    extra: dict  # further log fields of this step (expert shares)


class StepRecorder:
    """Writes step results to the run log, the timing file and the progress line."""

    def __init__(self, run, log, progress, bad: int, every: int) -> None:
        self.run, self.log, self.progress = run, log, progress
        self.bad, self.every = bad, every  # bad: non-finite steps in a row so far
        self.pending: list[StepResult] = []
        self.window_start = time.perf_counter()

    def record(self, result: StepResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self) -> None:
        """Fetch the pending results (one host sync) and write them in step order;
        raises TrainingError at the step that makes too many bad steps in a row."""
        if not self.pending:
            return
        values = torch.stack([
            torch.cat([r.terms.float(), r.grad_norm.float().view(1), r.finite.float().view(1)])
            for r in self.pending
        ]).tolist()  # fmt: skip
        now = time.perf_counter()
        seconds = (now - self.window_start) / len(self.pending)
        self.window_start = now
        pending, self.pending = self.pending, []
        for result, row in zip(pending, values, strict=True):
            self._write(result, row[: len(TERMS)], row[-2], row[-1] == 1.0, seconds)

    def _write(self, result: StepResult, terms, grad_norm, finite, seconds) -> None:
        step, options = result.step, self.run.options
        self.bad = 0 if finite else self.bad + 1
        epoch = round((step + 1) / self.run.data.steps_per_epoch, 4)
        entry = {"step": step + 1, "epoch": epoch} | dict(zip(TERMS, terms, strict=True))
        entry |= {"lr": result.lr, "grad_norm": grad_norm, "skipped": not finite} | result.extra
        timing = self._timing(step, seconds)
        self.log.write(entry, timing)
        self.progress.update(step + 1, entry, timing)
        if self.bad >= options.max_bad_steps:
            raise TrainingError(
                options.out,
                f"{self.bad} steps in a row with a non-finite loss or "
                f"gradient (last: step {step + 1}); lower --lr, set --clip-grad, "
                "or check the shards",
            )

    def _timing(self, step: int, seconds: float) -> dict:
        """What the machine measured for the step (the mean over its group)."""
        rate = round(self.run.options.batch_size / seconds, 2) if seconds > 0 else None
        device = self.run.device
        on_gpu = device.type == "cuda"
        memory = round(torch.cuda.max_memory_allocated(device) / 2**20) if on_gpu else None
        return {"step": step + 1, "samples_per_s": rate, "gpu_peak_mem_mb": memory}
