"""``ganplay bench``: its report, its errors, and peers that train the same models as ours."""
from __future__ import annotations

import contextlib
import io
import json
import math
import sys

import jax
import jax.numpy as jnp
import pytest

import ganplay.bench as bench
from ganplay.bench import WORKLOADS, format_table, main
from ganplay.bench.workloads import MatmulPeak, PeerUnavailable, build_peer
from ganplay.errors import GanplayError
from ganplay.models import MODELS

HINT = "peer torch not installed: pip install 'ganplay[bench]'"


def _block_torch(monkeypatch) -> None:
    """``import torch`` fails, as where the bench extra is not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "ganplay.bench.torch_peers", raising=False)


@pytest.fixture(scope="module")
def run_without_torch():
    """One real (short) run of toy-mlp with torch missing: (report, stdout, stderr)."""
    # (capsys is per test; this run is shared by the tests below, so it captures for itself)
    with pytest.MonkeyPatch.context() as mp:
        _block_torch(mp)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--json", "--workloads", "toy-mlp", "--seconds", "0.2", "--repeat", "2"])
        sys.modules.pop("ganplay.bench.torch_peers", None)  # the torch-less copy imported here
    assert code == 0
    return json.loads(out.getvalue()), out.getvalue(), err.getvalue()


def test_json_report_has_ours_flops_and_peak(run_without_torch):
    report, _, _ = run_without_torch
    assert report["matmul_peak"]["gflops_per_s"] > 0
    assert report["flops_source"].startswith("xla_cost_analysis")
    assert report["settings"]["repeat"] == 2
    (toy,) = report["workloads"]
    assert toy["name"] == "toy-mlp"
    assert toy["config"]["batch_size"] == 256 and toy["config"]["hidden"] == 128
    ours = toy["ours"]
    assert ours["steps_per_s"] > 0 and len(ours["rounds_steps_per_s"]) == 2
    assert ours["ms_per_step"] == pytest.approx(1e3 / ours["steps_per_s"])
    # one toy-mlp step is ~100 MFLOP (12 GEMMs of 256x128x128 in D and G, forward and back)
    assert 5e7 < toy["flops_per_step"] < 2e8
    assert toy["gflops_per_s"] == pytest.approx(toy["flops_per_step"] * ours["steps_per_s"] / 1e9)
    assert toy["fraction_of_peak"] == pytest.approx(
        toy["gflops_per_s"] / report["matmul_peak"]["gflops_per_s"]
    )


def test_missing_torch_is_one_clear_line_and_ours_is_still_measured(run_without_torch):
    report, _, err = run_without_torch
    (toy,) = report["workloads"]
    assert HINT in err and "Traceback" not in err
    assert toy["peers"] == [] and toy["notes"] == [HINT]
    assert toy["ours"]["steps_per_s"] > 0


def test_table_shows_each_workload_and_its_notes(run_without_torch):
    report, _, _ = run_without_torch
    table = format_table(report)
    (row,) = [line for line in table.splitlines() if line.startswith("toy-mlp")]
    assert "(no peer measured)" in row
    assert HINT in table


def test_building_the_torch_peer_without_torch_raises_the_hint(monkeypatch):
    _block_torch(monkeypatch)
    config = WORKLOADS["toy-mlp"].config()
    try:
        with pytest.raises(PeerUnavailable, match=r"peer torch not installed: pip install 'ganplay\[bench\]'"):
            build_peer("torch", config, WORKLOADS["toy-mlp"].dataset(config))
    finally:
        sys.modules.pop("ganplay.bench.torch_peers", None)


# -- the measuring loop, with stand-ins for the trained models -----------------------------------
class _Stand:
    """A contender that takes no time to build; its rate is fixed and its rounds are logged."""

    rates = {"ours": 300.0, "torch": 100.0, "keras": 50.0}

    def __init__(self, name, config=None):
        self.name, self.label, self.config, self.dataset = name, f"stand-in {name}", config, None

    def warmup(self):
        pass

    def parameter_count(self):
        return 7

    def flops_per_step(self):
        return 1e6


@pytest.fixture
def rounds(monkeypatch) -> list[str]:
    """Stand-ins for ours and the peers; returns the log of timed rounds (contender names)."""
    log: list[str] = []

    def steps_per_second(contender, seconds):
        log.append(contender.name)
        return _Stand.rates[contender.name]

    monkeypatch.setattr(bench, "Ours", lambda workload: _Stand("ours", workload.config()))
    monkeypatch.setattr(bench, "build_peer", lambda kind, config, dataset: _Stand(kind))
    monkeypatch.setattr(bench, "steps_per_second", steps_per_second)
    monkeypatch.setattr(bench, "matmul_peak", lambda seconds: MatmulPeak(64, 1.0))
    monkeypatch.setattr(bench, "_others_busy", lambda: 0.0)
    monkeypatch.setattr(bench, "_torch_threads", lambda: 2)
    return log


def test_rounds_alternate_and_ratios_are_ours_over_peer(rounds, capsys):
    assert main(["--json", "--workloads", "gia-mlp", "--repeat", "3"]) == 0  # two peers
    assert rounds == ["ours", "torch", "keras", "keras", "torch", "ours", "ours", "torch", "keras"]
    (gia,) = json.loads(capsys.readouterr().out)["workloads"]
    assert gia["ours"]["steps_per_s"] == 300.0
    assert gia["gflops_per_s"] == pytest.approx(0.3) and gia["fraction_of_peak"] == pytest.approx(0.3)
    torch_peer, keras_peer = gia["peers"]
    assert (torch_peer["name"], keras_peer["name"]) == ("torch", "keras")
    assert (torch_peer["ratio"], keras_peer["ratio"]) == (3.0, 6.0)
    assert torch_peer["target"] is None  # the issue sets none for gia-mlp vs torch
    assert keras_peer["target"]["min_ratio"] == 3.0 and keras_peer["target"]["met"] is True


def test_no_peers_builds_none(rounds, monkeypatch, capsys):
    def refuse(*args):
        raise AssertionError("--no-peers built a peer")

    monkeypatch.setattr(bench, "build_peer", refuse)
    assert main(["--workloads", "gia-mlp", "--repeat", "2", "--no-peers"]) == 0
    assert "(no peer measured)" in capsys.readouterr().out
    assert rounds == ["ours", "ours"]


# -- errors --------------------------------------------------------------------------------------
def test_unknown_workload_lists_the_valid_ones():
    with pytest.raises(GanplayError) as info:
        main(["--workloads", "toy-mlp,resnet"])
    message = str(info.value)
    assert "'resnet'" in message
    assert all(name in message for name in ("toy-mlp", "gia-mlp", "dcgan28", "dcgan28-default"))


def test_cli_reports_bench_errors_in_one_line(capsys):
    from ganplay.cli import main as cli_main

    assert cli_main(["bench", "--workloads", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganplay: error: unknown workload 'nope'") and "\n" not in err


@pytest.mark.parametrize("argv", [["--seconds", "0"], ["--seconds", "-1"], ["--repeat", "0"]])
def test_out_of_range_options_are_rejected(argv):
    with pytest.raises(GanplayError, match=argv[0]):
        main(argv)


# -- the peers train our models ------------------------------------------------------------------
def _our_parameter_count(workload) -> int:
    config = workload.config()
    shape = workload.dataset(config).shape
    pair = MODELS.get(config.model).build(config, shape)
    key = jax.random.key(0)
    g = jax.eval_shape(lambda: pair.generator.init(key, jnp.zeros((2, config.z_dim)), train=False))
    d = jax.eval_shape(lambda: pair.discriminator.init(key, jnp.zeros((2, *shape)), train=False))
    return sum(math.prod(p.shape) for p in jax.tree.leaves((g["params"], d["params"])))


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_torch_peer_has_our_parameter_count(name):
    pytest.importorskip("torch", reason="torch is not installed (pip install 'ganplay[bench]')")
    workload = WORKLOADS[name]
    config = workload.config()
    peer = build_peer("torch", config, workload.dataset(config))
    assert peer.parameter_count() == _our_parameter_count(workload)
    if name == "toy-mlp":
        assert peer.run() == 1  # a whole GAN step runs

