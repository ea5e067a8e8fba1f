"""``ganplay bench``: our training step's speed against PyTorch and Keras doing the same work.

Each workload trains the same GAN (architecture, init, Adam, batch) on every side. Ours and its
peers are timed in alternating rounds (A B, B A, ...) and the medians reported, because the
machine is shared and noisy; everything is compiled and warmed up before the first round. The
peers' libraries are an optional extra (``pip install 'ganplay[bench]'``); without them the
bench says so and measures ours alone.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import sys
import time
from importlib import metadata
from typing import Callable

from ganplay.bench.workloads import (
    WORKLOADS,
    Ours,
    PeerUnavailable,
    Workload,
    build_peer,
    matmul_peak,
    select_workloads,
    steps_per_second,
)
from ganplay.errors import GanplayError

__all__ = ["main", "run_suite", "format_table", "WORKLOADS"]

FLOPS_SOURCE = (
    "xla_cost_analysis: 'flops' of the compiled program ours runs, "
    "jax.jit(step).lower(...).compile().cost_analysis(); for the MLPs the k-step lax.scan, "
    "whose loop body XLA counts once, i.e. one step (dots and convolutions count 2 per "
    "multiply-add, elementwise ops 1 per element)"
)


def build_parser() -> argparse.ArgumentParser:
    from ganplay.argparsing import OneLineParser  # one-line usage errors, as the rest of the CLI

    p = OneLineParser(
        prog="ganplay bench",
        description="Time ganplay's training step against PyTorch eager and Keras on the same "
        "models. Workloads: " + "; ".join(f"{w.name} ({w.description})" for w in WORKLOADS.values()),
    )
    p.add_argument("--workloads", metavar="A,B", help="comma-separated workloads (default: all)")
    p.add_argument("--seconds", type=float, default=1.0, metavar="S",
                   help="time budget of one measurement (one side, one round); default 1.0")
    p.add_argument("--repeat", type=int, default=5, metavar="N",
                   help="interleaved rounds per workload; medians are reported (default 5)")
    p.add_argument("--no-peers", action="store_true", help="measure ours only")
    p.add_argument("--json", action="store_true", help="print a JSON document instead of a table")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.seconds > 0 or args.seconds > 600:
        raise GanplayError(f"--seconds={args.seconds:g} is out of range; allowed: (0, 600]")
    if args.repeat < 1 or args.repeat > 1000:
        raise GanplayError(f"--repeat={args.repeat} is out of range; allowed: 1 to 1000")
    workloads = select_workloads(args.workloads)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    report = run_suite(workloads, seconds=args.seconds, repeat=args.repeat,
                       with_peers=not args.no_peers, log=log)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


# -- measuring -------------------------------------------------------------------------------------
def run_suite(workloads: list[Workload], *, seconds: float, repeat: int, with_peers: bool = True,
              log: Callable[[str], None] = lambda _: None) -> dict:
    """Measure ``workloads``; returns the report (what ``--json`` prints)."""
    import jax

    busy_before = _others_busy()
    log(f"matmul peak: f32 2048x2048 for {seconds:g} s")
    peak = matmul_peak(seconds)
    results = [
        _measure(w, seconds=seconds, repeat=repeat, with_peers=with_peers, peak=peak.gflops, log=log)
        for w in workloads
    ]
    return {
        "machine": {
            "jax_backend": jax.default_backend(),
            # the device ours trains on, as the window's status bar names it (e.g. "1 × cpu")
            "device": next((r["ours"]["device"] for r in results if r["ours"].get("device")), None),
            "cpu_count": os.cpu_count(),
            "versions": {name: _version(name) for name in ("jax", "flax", "optax", "torch", "keras")},
            "torch_threads": _torch_threads() if with_peers else None,
            # CPU time taken by other processes (0..1 of all cores) just before and after the
            # bench: on a shared machine it skews the peers most (see format_table)
            "others_busy": {"before": busy_before, "after": _others_busy()},
        },
        "settings": {"seconds": seconds, "repeat": repeat, "with_peers": with_peers,
                     "statistic": "median over interleaved rounds"},
        "matmul_peak": {"n": peak.n, "dtype": "float32", "gflops_per_s": peak.gflops},
        "flops_source": FLOPS_SOURCE,
        "workloads": results,
    }


def _measure(w: Workload, *, seconds, repeat, with_peers, peak, log) -> dict:
    log(f"{w.name}: compiling and warming up ours")
    ours = Ours(w)
    ours.warmup()
    contenders: dict[str, object] = {"ours": ours}
    notes: list[str] = []
    for kind in w.peers if with_peers else ():
        try:
            log(f"{w.name}: building and warming up peer {kind}")
            peer = build_peer(kind, ours.config, ours.dataset)
            peer.warmup()
        except PeerUnavailable as exc:
            notes.append(str(exc))
            log(str(exc))
            continue
        contenders[kind] = peer

    log(f"{w.name}: {repeat} interleaved rounds of {seconds:g} s: {', '.join(contenders)}")
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for r in range(repeat):  # A B, B A, A B, ...: drifts in the machine's load hit all sides
        for name in order if r % 2 == 0 else order[::-1]:
            rates[name].append(steps_per_second(contenders[name], seconds))
    return _workload_report(w, contenders, rates, notes, peak)


def _workload_report(w: Workload, contenders: dict, rates: dict, notes: list[str], peak: float):
    ours = contenders["ours"]
    ours_rate = statistics.median(rates["ours"])
    flops = ours.flops_per_step()
    gflops = None if math.isnan(flops) else flops * ours_rate / 1e9
    ours_params = ours.parameter_count()
    peers = []
    for name, peer in list(contenders.items())[1:]:
        rate = statistics.median(rates[name])
        params = peer.parameter_count()
        if params != ours_params:
            notes.append(f"peer {name} has {params:,} parameters, ours {ours_params:,}")
        target = next((t for t in w.targets if t.peer == name), None)
        peers.append({
            "name": name,
            "label": peer.label,
            "steps_per_s": rate,
            "ms_per_step": 1e3 / rate,
            "ratio": ours_rate / rate,
            "parameters": params,
            "rounds_steps_per_s": rates[name],
            "target": None if target is None else {
                "min_ratio": target.min_ratio, "text": target.text,
                "met": ours_rate / rate >= target.min_ratio,
            },
        })
    c = ours.config
    return {
        "name": w.name,
        "description": w.description,
        "config": {"model": c.model, "batch_size": c.batch_size, "z_dim": c.z_dim,
                   "hidden": c.hidden, "width": c.width},
        "parameters": ours_params,
        "ours": {
            "label": ours.label,
            "device": getattr(ours, "device", None),
            "steps_per_s": ours_rate,
            "ms_per_step": 1e3 / ours_rate,
            "steps_per_dispatch": w.chunk,
            "rounds_steps_per_s": rates["ours"],
        },
        "flops_per_step": None if math.isnan(flops) else flops,
        "gflops_per_s": gflops,
        "fraction_of_peak": None if gflops is None else gflops / peak,
        "peers": peers,
        "notes": notes,
    }


def _others_busy(seconds: float = 0.25) -> float | None:
    """The fraction of all CPUs busy over ``seconds`` while the bench waits (Linux only)."""

    def sample():
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, 1.0 - (idle1 - idle0) / max(total1 - total0, 1))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _torch_threads() -> int | None:
    return importlib.import_module("ganplay.bench.torch_peers").num_threads()


# -- the table ---------------------------------------------------------------------------------------
def format_table(report: dict) -> str:
    m = report["machine"]
    s = report["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    threads = f"; torch threads {m['torch_threads']}" if m["torch_threads"] else ""
    device = m.get("device") or m["jax_backend"]
    lines = [
        f"device {device}; {m['cpu_count']} CPUs; {versions}{threads}",
        f"matmul peak {report['matmul_peak']['gflops_per_s']:.1f} GFLOP/s "
        f"(f32 {report['matmul_peak']['n']}^2); medians of {s['repeat']} interleaved rounds "
        f"of {s['seconds']:g} s; FLOPs: XLA cost analysis",
        "",
        f"{'workload':<16}{'ours steps/s':>13}{'ms/step':>10}{'GFLOP/s':>9}{'of peak':>9}  "
        f"{'peer':<40}{'steps/s':>10}{'ms/step':>10}{'ratio':>8}  target",
    ]
    for r in report["workloads"]:
        o = r["ours"]
        gf = f"{r['gflops_per_s']:.1f}" if r["gflops_per_s"] is not None else "-"
        frac = f"{100 * r['fraction_of_peak']:.1f}%" if r["fraction_of_peak"] is not None else "-"
        head = f"{r['name']:<16}{o['steps_per_s']:>13,.1f}{o['ms_per_step']:>10.3f}{gf:>9}{frac:>9}  "
        blank = " " * len(head)
        if not r["peers"]:
            lines.append(head + "(no peer measured)")
        for i, p in enumerate(r["peers"]):
            t = p["target"]
            target = "" if t is None else f"{t['text']}: {'met' if t['met'] else 'MISSED'}"
            lines.append(
                (head if i == 0 else blank)
                + f"{p['label']:<40}{p['steps_per_s']:>10,.1f}{p['ms_per_step']:>10.3f}"
                f"{p['ratio']:>7.2f}x  {target}"
            )
        lines.extend(f"{'':<16}note: {n}" for n in r["notes"])
    busy = [b for b in m["others_busy"].values() if b is not None]
    if busy and max(busy) > 0.25:
        lines.append(
            f"warning: other processes kept {100 * max(busy):.0f}% of the {m['cpu_count']} CPUs "
            "busy around this run; that slows PyTorch's OpenMP threads far more than XLA's. "
            "Compare on an idle machine."
        )
    return "\n".join(lines)
