"""Command line: ``ganplay`` opens the GUI; ``ganplay train …`` trains headless; ``sweep``,
``compare``, ``presets`` and ``bench`` are the other commands, each a module of this package.

Every user error ends as one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import importlib
import sys

from ganplay.cli.common import config_from_args
from ganplay.cli.gui import build_parser
from ganplay.cli.train import build_train_parser
from ganplay.errors import GanplayError

__all__ = ["EXIT_FAILED", "build_parser", "build_train_parser", "config_from_args", "main"]

EXIT_FAILED = 1
# ``ganplay COMMAND …``: the module whose ``main(argv)`` runs it (without a command: the window).
COMMANDS = {"train": "ganplay.cli.train", "presets": "ganplay.cli.presets", "sweep": "ganplay.cli.sweep",
            "compare": "ganplay.cli.compare", "latent": "ganplay.cli.latent", "dirac": "ganplay.cli.dirac",
            "bench": "ganplay.bench"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "train":
            from ganplay.cli.train import join_distributed_run

            join_distributed_run(argv[1:])
        from ganplay.engine.compile_cache import enable_compilation_cache

        enable_compilation_cache()
        if argv and argv[0] in COMMANDS:  # each command's module is imported only when it runs
            return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
        args = build_parser().parse_args(argv)
        if args.quit and not args.steps:
            raise GanplayError("--quit needs --steps N: the window closes once N steps are trained")
        config = config_from_args(args)
        from ganplay.ui.app import run_gui

        return run_gui(config, args)
    except GanplayError as exc:
        print(f"ganplay: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("ganplay: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
