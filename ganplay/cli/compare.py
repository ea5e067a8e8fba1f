"""``ganplay compare``: Compare mode's window opened from the command line, on runs made like a
sweep's grid (``--vary``, ``--seeds``, over the same base flags as ``ganplay train``) or on a
saved set (``--open``). Every problem is one line before any window opens."""
from __future__ import annotations

import argparse

from ganplay.argparsing import OneLineParser, add_base_flags
from ganplay.errors import GanplayError

# The flags that make the runs; ``--open`` takes its runs from the file instead.
RUN_FLAGS = (("model", "--model"), ("dataset", "--dataset"), ("data_dir", "--data-dir"), ("config", "--config"),
             ("preset", "--preset"), ("sets", "--set"), ("vary", "--vary"), ("seeds", "--seeds"))


def build_compare_parser() -> argparse.ArgumentParser:
    from ganplay.engine.compare import MAX_RUNS, SUFFIX

    p = OneLineParser(prog="ganplay compare",
                      description=f"Open Compare mode on 2 to {MAX_RUNS} runs of one dataset: every combination of "
                      "--vary settings × --seeds, or a saved set (--open).")
    add_base_flags(p, "dataset name (default: gmm2 for toy models); every run shares it")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a setting and the values to compare, e.g. --vary loss=ns,hinge (repeatable: the runs "
                   "are every combination; run A is the first)")
    p.add_argument("--seeds", metavar="SEEDS", help="seeds of each combination: 0-1, 0,3 "
                   "(default: the configuration's seed)")
    p.add_argument("--open", metavar="PATH", help=f"continue a saved set: a {SUFFIX} file or a folder saved "
                   "with Save as folder")
    p.add_argument("--autostart", action="store_true", help="press Play once the window is up")
    return p


def compare_runs(args) -> list:
    """The runs' configs, checked as Compare mode checks them; GanplayError (one line) otherwise.

    ``--open`` reads the set the way the window's Open set does (:meth:`Comparison.open`), so a
    corrupt or mismatched file is refused with the same line, before a window is built for it."""
    from ganplay.engine.compare import MAX_RUNS, SAME_DATA, Comparison, check_runs

    if args.open:
        given = [flag for attr, flag in RUN_FLAGS if getattr(args, attr)]
        if given:
            raise GanplayError(f"--open continues the runs saved in {args.open}; leave out {', '.join(given)}")
        opened = Comparison.open(args.open)
        opened.close()
        return opened.configs
    from ganplay.cli.common import config_from_args
    from ganplay.engine.sweep import build_grid

    for spec in args.vary:  # (the sweep's own refusal would speak of a sweep)
        key = spec.partition("=")[0].strip()
        if key in SAME_DATA:
            raise GanplayError(f"--vary {key}: the runs of a comparison share one dataset; open one comparison "
                               f"per dataset")
    grid = build_grid(config_from_args(args), args.vary, args.seeds, allow_many=True)
    configs = [run.config for run in grid.runs()]
    if not 2 <= len(configs) <= MAX_RUNS:
        raise GanplayError(f"--vary and --seeds make {len(configs)} run{'s' * (len(configs) != 1)}; Compare mode "
                           f"shows 2 to {MAX_RUNS}: e.g. --vary loss=ns,hinge, or --seeds 0-1")
    check_runs(configs)  # one dataset
    return configs


def build_window(argv: list[str]):
    """The Compare window for a ``ganplay compare`` command line (not shown, no event loop)."""
    args = build_compare_parser().parse_args(argv)
    return compare_window(compare_runs(args), args)


def compare_window(configs: list, args):
    """The window on ``configs`` from step 0, or on the saved set opening; with ``--autostart``
    Play is queued after (the worker runs its commands in order: open, then play)."""
    from ganplay.ui.compare_window import CompareWindow

    window = CompareWindow(configs)
    if args.open:
        window.open_set(args.open)
    if args.autostart:
        window.play()
    return window


def main(argv: list[str]) -> int:
    """Check the runs, then open the window and run until it is closed (Ctrl+C in the terminal
    closes it too)."""
    args = build_compare_parser().parse_args(argv)
    configs = compare_runs(args)
    from ganplay.ui.app import close_on_signals, leave_app, start_app

    app, _collector = start_app()  # the collector must live until exec returns
    window = compare_window(configs, args)
    window.show()
    close_on_signals(window)
    return leave_app(app.exec())
