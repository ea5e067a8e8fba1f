"""Data parallel training (``devices``): the same run on N forced CPU devices as on one.

The forced devices need ``XLA_FLAGS`` before JAX starts, so the checks run in two subprocesses
(``_devices_check.py``), each training every case on one device and on all N and printing JSON.
JAX's start-up and the compiles dominate their time (a DCGAN's step takes ~15 s of CPU to compile
here), so there are two, with tiny models.

How long the runs stay within 1e-5 of each other: the mesh computes the same math in another
summation order, so the two runs differ by float rounding (~1e-7) at first. Adam divides each
gradient by its own size, so an element whose true gradient is 0 (a conv bias just before batch
norm in the DCGAN) takes a full-size step in a direction set by rounding noise: dcgan28 and
sgan-mlp therefore train with SGD here. A rounding difference that flips a LeakyReLU's side then
grows as GAN training does; that happened after ~80 steps (dcgan28, SGD) and ~140 (gia-mlp,
Adam), so those cases train 50 and 100 steps. toy-mlp stays at ~1e-7 for the full 200.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganplay.config import Config
from ganplay.errors import ConfigError

HELPER = Path(__file__).with_name("_devices_check.py")
from shared_data import MNIST_DIR as MNIST, mnist_available, why_no_mnist  # noqa: E402
TOLERANCE = 1e-5
MNIST_TINY = {"dataset": "mnist", "batch_size": 32}

# [name, overrides, steps, full]; ``full`` also checks the mesh's own init, the views' functions,
# the single D and G steps and live settings. toy-mlp carries the remedies whose code the mesh
# touches (the relativistic loss's extra real batch, PacGAN packing, the gradient penalty).
FOUR = [
    ["toy-mlp", {"model": "toy-mlp", "hidden": 16, "batch_size": 32, "loss": "rsgan", "pack": 2,
                 "gp_weight": 1.0}, 200, True],
    ["gia-mlp", {"model": "gia-mlp", **MNIST_TINY}, 100, False],
]
TWO = [
    ["dcgan28", {"model": "dcgan28", "dataset": "mnist", "width": 0.0625, "batch_size": 8,
                 "opt_g": "sgd", "opt_d": "sgd"}, 50, False],
    ["cgan-mlp", {"model": "cgan-mlp", "hidden": 32, **MNIST_TINY}, 100, False],
    # sgan-mlp also matched (20 SGD steps, 1.2e-7) but costs CI 25 s of compiling: checked by hand.
]


def run_helper(devices: int, cases: list) -> dict:
    spec = {"devices": devices, "cases": cases, "mnist": str(MNIST) if mnist_available() else None}
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           # XLA:CPU sizes its thread pool by the cores (2 here); a device blocked in an
           # all-reduce holds a thread, and with too few the other devices never arrive.
           "PJRT_NPROC": str(4 * devices), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(HELPER), json.dumps(spec)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_case(case: dict, devices: int) -> None:
    name = case["case"]
    assert case["description"] == f"{devices} × cpu" and case["one_description"] == "1 × cpu", name
    assert not case["one_has_mesh"], name  # devices=1: today's programs, no mesh
    assert case["steps_equal"] and case["finite"] == [True, True], name
    assert case["replicated"], f"{name}: the state left the mesh's replicated layout"
    assert case["init"] <= TOLERANCE, name
    for key in ("params", "stats", "metrics", "grad_norms"):
        assert case[key] <= TOLERANCE, f"{name}: {key} differ by {case[key]:.3g} after {case['steps']} steps"
    assert case["faults_equal"], name


def test_four_devices_train_as_one():
    out = run_helper(4, FOUR)
    assert [c["case"] for c in out["cases"]][:1] == ["toy-mlp"]
    for case in out["cases"]:
        check_case(case, 4)
    toy = out["cases"][0]
    for view in ("generate", "discriminate", "field", "push"):
        assert toy[view] <= 1e-6, f"{view} differs on the mesh by {toy[view]:.3g}"
    one_fault, mesh_fault, *finite = toy["guard"]
    assert one_fault == mesh_fault == [1, "discriminator", "loss"] and finite == [False, False]
    assert toy["single_steps_replicated"]
    assert not toy["recompiled_after_set_hyper"]
    assert toy["all_reduce_in_program"], "the batch was not split over the devices"
    refused = out["refusals"]
    assert "batch_size=30" in refused["batch"] and "28 or 32" in refused["batch"]
    assert "1, 2, 3" in refused["batch"]  # the device counts that divide 30
    assert "packed batch" in refused["packed"] and "batch_size/pack=14" in refused["packed"]
    assert "4 present" in refused["too_many"]


def test_two_devices_train_dcgan_and_the_conditional_games_as_one():
    if not mnist_available():
        pytest.skip(why_no_mnist())
    out = run_helper(2, TWO)
    assert [c["case"] for c in out["cases"]] == [name for name, *_ in TWO]
    for case in out["cases"]:
        check_case(case, 2)


def test_more_devices_than_present_is_refused_naming_the_count():
    with pytest.raises(ConfigError, match=r"devices=2 asks for more devices than the 1 present"):
        Config.for_model("toy-mlp", devices="2")
    for bad in ("0", "two", "-1", "1.5", ""):
        with pytest.raises(ConfigError, match="choose 1 .*all, or a number"):
            Config(devices=bad)


def test_one_device_settings_build_no_mesh():
    from ganplay.engine.train import build_trainer

    for setting in ("1", "all"):
        trainer = build_trainer(Config.for_model("toy-mlp", hidden=16, batch_size=32, devices=setting))
        assert trainer.mesh is None
        assert trainer.device_description() == "1 × cpu"
