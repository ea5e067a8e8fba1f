"""``ganplay presets``: list the named recipes."""
from __future__ import annotations

from ganplay.argparsing import OneLineParser as _Parser


def main(argv: list[str]) -> int:
    p = _Parser(prog="ganplay presets", description="List the named recipes that --preset NAME starts from.")
    p.parse_args(argv)
    from ganplay.presets import PRESETS, describe

    for name in PRESETS:
        print(describe(PRESETS.get(name)))
    return 0
