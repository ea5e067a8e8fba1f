"""The command-line parser every ganplay command uses (``ganplay``, ``train``, ``bench``…):
argparse that reports a usage error as one line plus a hint, never a wall of usage text."""
from __future__ import annotations

import argparse

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as one line (plus a hint), exiting 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
