"""``ganplay dirac``: the Dirac-GAN (Mescheder et al. 2018) headless. Prints what the equilibrium's
eigenvalues say and how a trajectory went; ``--json`` for one JSON object, ``--png`` for a picture."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganplay.argparsing import OneLineParser
from ganplay.errors import GanplayError


def build_dirac_parser() -> argparse.ArgumentParser:
    from ganplay.config import OPTIMIZERS
    from ganplay.engine.dirac import PRESETS, UPDATES
    from ganplay.losses import loss_names

    p = OneLineParser(prog="ganplay dirac",
                      description="The Dirac-GAN: G = δ(θ), D(x) = ψ·x, real data at 0. Prints the eigenvalues of the "
                      "game's Jacobian at the equilibrium, what they mean, and where training from --start goes.")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from one of the paper's cases; the flags below override it")
    p.add_argument("--loss", choices=loss_names(), help="adversarial loss (default: ns)")
    p.add_argument("--opt", choices=OPTIMIZERS, help="both players' optimizer (default: sgd)")
    p.add_argument("--lr", type=float, help="step size (default: 0.1)")
    p.add_argument("--updates", choices=UPDATES, help="G's gradient at D's old (simultaneous) or new (alternating) "
                   "parameter (default: simultaneous)")
    p.add_argument("--steps", type=int, default=2000, help="training iterations (default: 2000)")
    p.add_argument("--start", default="1,1", metavar="THETA,PSI", help="start point (default: 1,1 as in the paper)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="any Dirac setting: r1_weight, r2_weight, gp_weight, weight_clip, instance_noise, "
                   "d_steps, g_steps, beta1, beta2 (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--png", metavar="FILE", help="draw the field, the trajectory and the eigenvalues into FILE")
    return p


def settings_from_args(args):
    from ganplay.engine.dirac import PRESETS, DiracSettings

    base = PRESETS[args.preset][1] if args.preset else DiracSettings()
    flags = {k: getattr(args, k) for k in ("loss", "opt", "lr", "updates") if getattr(args, k) is not None}
    return DiracSettings.from_sets(base.replace(**flags), args.sets)


def parse_start(text: str) -> tuple[float, float]:
    try:
        theta, psi = (float(v) for v in text.split(","))
    except ValueError:
        raise GanplayError(f"--start {text!r}: expected THETA,PSI, e.g. --start 1,1") from None
    return theta, psi


def main(argv: list[str]) -> int:
    args = build_dirac_parser().parse_args(argv)
    if not 1 <= args.steps <= 1_000_000:
        raise GanplayError(f"--steps must be 1 to 1,000,000, got {args.steps}")
    start = parse_start(args.start)
    settings = settings_from_args(args)
    from ganplay.engine import dirac

    out = dirac.summary(settings, start, args.steps)
    if args.png:
        from ganplay.report.dirac_plot import PlotRun, draw_png

        label = args.preset or f"{settings.loss}, {settings.opt}, {settings.updates}"
        run = PlotRun(label, dirac.trajectory(settings, start, args.steps), dirac.eigenvalues(settings),
                      (dirac.step_eigenvalues(settings) - 1.0) / settings.lr, dirac.explain(settings))
        png = draw_png([run], lambda extent: dirac.field_grid(settings, extent, 17), settings.lr)
        try:
            Path(args.png).write_bytes(png)
        except OSError as exc:
            raise GanplayError(f"cannot write {args.png}: {exc.strerror}") from None
        out["png"] = args.png
    if args.json:
        print(json.dumps(out))
        return 0
    ev = ", ".join(f"{re:+.4g}{im:+.4g}i" for re, im in out["eigenvalues"])
    print(f"eigenvalues at the equilibrium: {ev}")
    print(out["explanation"])
    final = "not finite (diverged)" if out["final_distance"] is None else f"{out['final_distance']:.4g}"
    print(f"distance from the equilibrium after {args.steps} steps: {final} (largest on the way: {out['max_distance'] or float('inf'):.4g})")
    return 0
