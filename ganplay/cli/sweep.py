"""``ganplay sweep``: a grid of settings × seeds trained headless (the engine is
:mod:`ganplay.engine.sweep`). Settings come from the same flags as ``ganplay train``
(``--model``, ``--dataset``, ``--config``, ``--preset``, ``--set``); ``--vary`` and ``--seeds``
span the grid."""
from __future__ import annotations

import argparse
import sys

from ganplay.argparsing import OneLineParser, add_base_flags
from ganplay.errors import GanplayError


def build_sweep_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="ganplay sweep",
                      description="Train every combination of --vary settings × --seeds headless into --out, "
                      "then tabulate and chart the results (runs.csv, summary.csv, summary.png).")
    add_base_flags(p)
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a setting and the values to try, e.g. --vary label_smoothing=0,0.1,0.2 (repeatable: "
                   "the grid is every combination)")
    p.add_argument("--seeds", metavar="SEEDS", help="seeds of each combination: 0-4, 0,2,5 or 0-2,7 "
                   "(default: the configuration's seed)")
    p.add_argument("--steps", type=int, help="steps to train each run (required)")
    p.add_argument("--out", help="output folder (required); run the same command again to resume")
    p.add_argument("--yes", action="store_true", help="allow more than 256 runs")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--no-quality", dest="quality", action="store_false",
                   help="skip the sample-quality metrics (the tables then hold no metrics)")
    vmap = p.add_mutually_exclusive_group()
    vmap.add_argument("--vmap", dest="vmap", action="store_true", default=None,
                      help="train runs that differ only in seed and live settings (learning rates, "
                      "label_smoothing, penalties…) together as one vmapped program: statistically "
                      "equivalent runs, not step-for-step identical to ganplay train's (by default a group "
                      "is vmapped only where that pays: on a GPU, or for small steps on a CPU)")
    vmap.add_argument("--no-vmap", dest="vmap", action="store_false",
                      help="train every run alone, one after another, exactly as ganplay train would")
    return p


def main(argv: list[str]) -> int:
    args = build_sweep_parser().parse_args(argv)
    from ganplay.cli.common import config_from_args
    from ganplay.engine.sweep import build_grid, format_duration, run_sweep

    if args.steps is None:
        raise GanplayError("--steps is required (steps to train each run)")
    if not args.out:
        raise GanplayError("--out DIR is required (where the runs and tables are written)")
    grid = build_grid(config_from_args(args), args.vary, args.seeds, allow_many=args.yes)

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    result = run_sweep(grid, args.steps, args.out, quality=args.quality, vmap=args.vmap, progress=progress)
    diverged = sum(r["status"] == "diverged" for r in result.records)
    tables = ", ".join(str(result.out_dir / n) for n in ("runs.csv", "summary.csv"))
    if result.chart is not None:
        tables += f", {result.chart}"
    progress(f"done: {result.trained} run{'s' * (result.trained != 1)} trained in {format_duration(result.seconds)}"
             + (f", {result.skipped} already done" if result.skipped else "")
             + (f", {diverged} diverged" if diverged else "") + f"; results in {tables}")
    return 0
