"""``ganplay latent RUN_DIR``: the latent lab headless. Discovers a trained image generator's
GANSpace directions and writes a direction sheet (PNG) and ``directions.npz`` beside it."""
from __future__ import annotations

import sys
from pathlib import Path

from ganplay.argparsing import OneLineParser
from ganplay.errors import GanplayError


def build_latent_parser() -> OneLineParser:
    p = OneLineParser(prog="ganplay latent",
                      description="Discover the directions of a trained image generator (GANSpace: PCA of G's "
                      "first layer, regressed back to noise space) and draw what each one does.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by ganplay train --out (run.npz, config.json)")
    p.add_argument("--directions", type=int, default=10, metavar="K", help="how many directions to find (default 10)")
    p.add_argument("--sheet", metavar="PNG", required=True,
                   help="where to write the sheet; directions.npz goes in the same folder")
    p.add_argument("--direction", default="all", metavar="I",
                   help="the direction the sheet shows: an index (0 is the strongest) or all (default: a block each)")
    p.add_argument("--samples", type=int, default=6, metavar="N", help="focus samples per sheet, one row each (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise used for discovery and the focus samples")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    return p


def _chosen(text: str, k: int) -> list[int]:
    if text == "all":
        return list(range(k))
    try:
        index = int(text)
    except ValueError:
        raise GanplayError(f"--direction {text!r}: expected an index 0..{k - 1} or all") from None
    if not 0 <= index < k:
        raise GanplayError(f"--direction {index} is out of range; allowed: 0..{k - 1} (or all)")
    return [index]


def main(argv: list[str]) -> int:
    args = build_latent_parser().parse_args(argv)
    if not 1 <= args.directions <= 64:
        raise GanplayError(f"--directions {args.directions} is out of range; allowed: 1 to 64")
    if not 1 <= args.samples <= 32:
        raise GanplayError(f"--samples {args.samples} is out of range; allowed: 1 to 32")
    run = Path(args.run_dir) / "run.npz"
    if not run.is_file():
        raise GanplayError(f"{args.run_dir}: no run.npz here; give a folder written by ganplay train --out")
    chosen = _chosen(args.direction, args.directions)
    from ganplay.engine.checkpoint import load_run
    from ganplay.engine.latent import (
        SHEET_STEPS,
        LatentLab,
        direction_sheet,
        discover_directions,
        sample_noise,
        snapshot_generator,
    )
    from ganplay.engine.latent_export import write_directions, write_sheet

    config, trainer, state, _ = load_run(run)
    if trainer.dataset.kind != "images":
        raise GanplayError(f"{config.model} makes 2-D points; the latent lab is for image models")
    lab = LatentLab(snapshot_generator(trainer, state))
    directions = discover_directions(lab, args.directions, seed=args.seed)
    focus = sample_noise(args.samples, config.z_dim, config.noise, seed=args.seed + 7)
    # conditional models: focus sample r is drawn as class r (mod K)
    labels = [r % lab.snap.n_classes for r in range(args.samples)] if lab.snap.conditional else None
    blocks = [direction_sheet(lab, directions, i, focus, labels) for i in chosen]
    sheet = write_sheet(args.sheet, blocks, cols=SHEET_STEPS)
    npz = write_directions(sheet.parent / "directions.npz", directions)
    if not args.quiet:
        shares = ", ".join(f"{100 * v:.1f}%" for v in directions.explained_variance)
        print(f"{len(directions)} directions of {config.model} at step {directions.step:,} "
              f"(share of the layer's variance: {shares}); wrote {sheet} and {npz}", file=sys.stderr)
    return 0
