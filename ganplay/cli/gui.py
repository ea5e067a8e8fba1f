"""``ganplay`` without a command: the window's flags."""
from __future__ import annotations

import argparse

from ganplay.argparsing import OneLineParser as _Parser
from ganplay.cli.common import add_run_options


def build_parser() -> argparse.ArgumentParser:
    from ganplay import __version__

    p = _Parser(prog="ganplay", description="A desktop playground for GANs. Without a command it opens the window.")
    p.add_argument("--version", action="version", version=f"ganplay {__version__}")
    add_run_options(p, gui=True)
    p.add_argument("--autostart", action="store_true", help="start training at once")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window when training stops")
    p.add_argument("--record-gif", metavar="GIF", help="record the main view into an animated GIF while training "
                   "(a frame every --gif-every steps, drawn from the timeline as File > Export video... "
                   "draws it, the step counter burned in); saved when --steps is reached")
    p.add_argument("--gif-every", type=int, metavar="N", help="steps between GIF frames (default: 100 for 2-D data, 10 for images)")
    p.add_argument("--overlays", metavar="LIST", help="2-D views to switch on: any of field,arrows,manifold,interpolation")
    p.add_argument("--quit", action="store_true", help="exit after --steps (and --screenshot); with --autostart "
                   "the run is unattended: an error exits with status 1, and no progress for "
                   "$GANPLAY_WATCHDOG_S seconds (default 120, 0: never) exits with status 3 and every "
                   "thread's stack on stderr and in the log")
    return p
