"""A family of 2-D mixtures that differ in what makes them hard, trained through the points-file
path a user's CSV takes, and scored with the PacGAN protocol.

    python benchmarks/mixtures.py list                                   # the members, one line each
    python benchmarks/mixtures.py run --recipes defaults --steps 5000 --seeds 0
    python benchmarks/mixtures.py run --recipes defaults,own-2d-data --seeds 0,1,2
    python benchmarks/mixtures.py table                                  # the table from the JSON

The family (:func:`family`, fixed by ``--family-seed``) has 24 members: rings of 6-16 modes at
different radii, square grids of 9-64 modes at different spacings, unequal weights (up to 1:9),
anisotropic and rotated modes, the same kinds of mixture at other scales and far from the origin
(spread 0.1 to 100, offsets up to 2,000), and three hand-drawn-like shapes. Each member is a
Gaussian mixture with known means and full covariances; its 10,000 points are written as an
``x,y`` CSV and trained as ``--dataset points-file`` (``read_points_csv``, the file a user
imports), and G's 2,500 samples (``samples.npy``) are scored by
:func:`ganplay.engine.metrics.mode_metrics` against the member's own mixture.

Shapes: the spiral, the two moons and the heart are drawn as chains of overlapping Gaussians,
anchors equally spaced in arc length along the curve, each with an isotropic std of half the
anchor spacing, so the data looks like a continuous noisy stroke and the anchors are its modes
("modes found" = stretches of the curve covered; high quality = within 3 std of the curve).

A member is *solved* when every mode is found, at least 90% of the samples are high quality and
the reverse KL is at most 0.05. Every (recipe, member, seed, steps) result is kept in a JSON file
(``--results``; finished cells are skipped, so the script resumes), and ``table`` prints the
Markdown table: per recipe and seed, the share solved and the mean and worst figures.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "mixtures.json"
POINTS = 10_000  # rows in each member's CSV
SOLVED_HQ, SOLVED_KL = 0.90, 0.05


@dataclass(frozen=True)
class Member:
    """A 2-D Gaussian mixture with full covariances (what ``mode_metrics`` scores against)."""

    name: str
    hard: str  # what makes it hard, in words
    weights: np.ndarray  # [K]
    modes: np.ndarray  # [K, 2]
    covs: np.ndarray  # [K, 2, 2]

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        chol = np.linalg.cholesky(self.covs)
        eps = rng.standard_normal((n, 2))
        return self.modes[comp] + np.einsum("nij,nj->ni", chol[comp], eps)

    @property
    def spread(self) -> float:
        """The data's largest per-axis standard deviation (its scale)."""
        return float(self.sample(4000, 0).std(axis=0).max())


def _iso(k: int, std) -> np.ndarray:
    std = np.broadcast_to(np.asarray(std, np.float64), (k,))
    return std[:, None, None] ** 2 * np.eye(2)


def _rotated(angles, major, minor) -> np.ndarray:
    """Covariances with std ``major`` along ``angles`` and ``minor`` across."""
    angles = np.asarray(angles, np.float64)
    c, s = np.cos(angles), np.sin(angles)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # [K, 2, 2]
    d = np.zeros((len(angles), 2, 2))
    d[:, 0, 0], d[:, 1, 1] = np.broadcast_to(major, len(angles)) ** 2, np.broadcast_to(minor, len(angles)) ** 2
    return rot @ d @ np.swapaxes(rot, 1, 2)


def _ring(k: int, radius: float, rel_std: float, phase: float = 0.0):
    a = phase + 2 * np.pi * np.arange(k) / k
    modes = radius * np.stack([np.cos(a), np.sin(a)], -1)
    spacing = 2 * radius * math.sin(math.pi / k)
    return modes, rel_std * spacing, a


def _grid(side: int, spacing: float):
    xs = (np.arange(side) - (side - 1) / 2) * spacing
    return np.array([(x, y) for x in xs for y in xs])


def _chain(curve, k: int) -> tuple[np.ndarray, float]:
    """``k`` anchors equally spaced in arc length along ``curve(t)``, t in [0, 1]; their spacing."""
    t = np.linspace(0.0, 1.0, 4001)
    pts = curve(t)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    closed = np.linalg.norm(pts[0] - pts[-1]) < 1e-6
    targets = np.linspace(0.0, s[-1], k, endpoint=not closed)
    anchors = np.stack([np.interp(targets, s, pts[:, 0]), np.interp(targets, s, pts[:, 1])], -1)
    return anchors, s[-1] / (k if closed else k - 1)


def _shape(name: str, hard: str, curves: list, per_curve: list[int]) -> Member:
    parts, spacings = [], []
    for curve, k in zip(curves, per_curve):
        a, sp = _chain(curve, k)
        parts.append(a)
        spacings += [sp] * k
    modes = np.concatenate(parts)
    return Member(name, hard, np.full(len(modes), 1 / len(modes)), modes, _iso(len(modes), 0.5 * np.asarray(spacings)))


def _uniform(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def _unequal(k: int, rng) -> np.ndarray:
    """Weights from 1 to 9 (geometric), shuffled: the rarest mode has 1/9 of the commonest's."""
    w = 9.0 ** (np.arange(k) / (k - 1))
    rng.shuffle(w)
    return w / w.sum()


def family(seed: int = 0) -> list[Member]:
    """The 24 members; radii, spacings, stds, rotations and offsets drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    u = rng.uniform
    out: list[Member] = []

    def add(name, hard, weights, modes, covs, scale=1.0, offset=(0.0, 0.0)):
        out.append(Member(name, hard, np.asarray(weights, np.float64),
                          np.asarray(modes, np.float64) * scale + np.asarray(offset, np.float64),
                          np.asarray(covs, np.float64) * scale**2))

    # Rings: 6-16 modes, radius 1-4, std 3-8% of the gap between neighbours.
    for k in (6, 8, 10, 12, 16):
        modes, std, _ = _ring(k, u(1.0, 4.0), u(0.03, 0.08), u(0, np.pi))
        add(f"ring{k}", f"ring of {k}", _uniform(k), modes, _iso(k, std))
    # Square grids: 9-64 modes, spacing 1-3, std 2.5-6% of the spacing (grid25's is 2.5%).
    for side in (3, 4, 5, 6, 8):
        spacing = u(1.0, 3.0)
        add(f"grid{side * side}", f"{side}x{side} grid", _uniform(side * side), _grid(side, spacing),
            _iso(side * side, spacing * u(0.025, 0.06)))
    # Unequal weights, 1:9.
    modes, std, _ = _ring(8, 2.0, 0.05)
    add("ring8-unequal", "weights 1:9", _unequal(8, rng), modes, _iso(8, std))
    add("grid9-unequal", "weights 1:9", _unequal(9, rng), _grid(3, 2.0), _iso(9, 0.08))
    add("blobs3-unequal", "weights 1:3:9", np.array([1.0, 3.0, 9.0]) / 13,
        [(-2.0, 0.0), (0.5, 1.5), (1.5, -1.0)], _iso(3, [0.1, 0.2, 0.3]))
    # Anisotropic and rotated modes.
    modes, std, a = _ring(8, 2.0, 0.06)
    add("ring8-tangent", "modes stretched 4:1 along the ring", _uniform(8), modes,
        _rotated(a + np.pi / 2, 2.0 * std, 0.5 * std))
    add("grid16-rotated", "4:1 ellipses at random angles", _uniform(16), _grid(4, 2.0),
        _rotated(u(0, np.pi, 16), 0.2, 0.05))
    centres = u(-3.0, 3.0, (6, 2))
    add("ellipses6", "6 random ellipses, 5:1", _uniform(6), centres, _rotated(u(0, np.pi, 6), 0.4, 0.08))
    # Scale and offset: the same kinds of mixture, small, large and far from the origin.
    modes, std, _ = _ring(8, 1.0, 0.05)
    add("ring8-small", "spread 0.07 (radius 0.1)", _uniform(8), modes, _iso(8, std), scale=0.1)
    add("ring8-far", "centred at (1000, 1000)", _uniform(8), modes, _iso(8, std), offset=(1000.0, 1000.0))
    add("grid9-large", "spread 100 (spacing 120)", _uniform(9), _grid(3, 1.2), _iso(9, 0.05), scale=100.0)
    add("grid16-far-large", "spread 20, centred at (-500, 300)", _uniform(16), _grid(4, 1.0),
        _iso(16, 0.04), scale=20.0, offset=(-500.0, 300.0))
    modes, std, _ = _ring(12, 1.0, 0.06)
    add("ring12-far-huge", "spread 70, centred at (2000, -1000)", _uniform(12), modes, _iso(12, std),
        scale=100.0, offset=(2000.0, -1000.0))
    # Hand-drawn-like shapes: chains of overlapping Gaussians along a curve (see the docstring).
    out.append(_shape("spiral", "a 1.5-turn spiral", [
        lambda t: np.stack([(0.3 + 1.7 * t) * np.cos(3 * np.pi * t), (0.3 + 1.7 * t) * np.sin(3 * np.pi * t)], -1)],
        [30]))
    out.append(_shape("two-moons", "two interleaved half circles", [
        lambda t: np.stack([np.cos(np.pi * t), np.sin(np.pi * t)], -1),
        lambda t: np.stack([1.0 - np.cos(np.pi * t), 0.5 - np.sin(np.pi * t)], -1)], [12, 12]))
    out.append(_shape("heart", "a closed heart-shaped stroke", [
        lambda t: np.stack([np.sin(2 * np.pi * t) ** 3,
                            (13 * np.cos(2 * np.pi * t) - 5 * np.cos(4 * np.pi * t) - 2 * np.cos(6 * np.pi * t)
                             - np.cos(8 * np.pi * t)) / 16], -1)], [24]))
    return out


# -- recipes ---------------------------------------------------------------------------------
def recipes() -> dict[str, dict]:
    """``defaults``, ``defaults-raw`` and every preset that trains on 2-D data, as overrides
    without the dataset (each member's points file takes its place)."""
    from ganplay.data import DATASETS
    from ganplay.presets import PRESETS

    # defaults-raw: the defaults on the points as read (before standardisation existed)
    out = {"defaults": {"model": "toy-mlp"}, "defaults-raw": {"model": "toy-mlp", "standardize": False}}
    for name in PRESETS.names():
        p = PRESETS.get(name)
        dataset = p.overrides.get("dataset")
        if dataset is None or DATASETS.get(dataset).kind == "points":
            out[name] = {k: v for k, v in p.overrides.items() if k not in ("dataset", "data_dir")}
    return out


def score(member: Member, samples: np.ndarray) -> dict:
    from ganplay.engine.metrics import mode_metrics

    m = mode_metrics(samples, member)
    m.pop("mode_counts")
    m["solved"] = bool(m["modes"] == m["modes_total"] and m["high_quality"] >= SOLVED_HQ
                       and m["reverse_kl"] <= SOLVED_KL)
    return m


def train_member(member: Member, recipe: dict, steps: int, seed: int, work: Path) -> dict:
    """Write the member's CSV, train it as points-file, score ``samples.npy``."""
    from ganplay.config import Config
    from ganplay.data.points_file import save_points_csv
    from ganplay.engine.runner import train_headless
    from ganplay.errors import GanplayError

    csv = work / f"{member.name}.csv"
    if not csv.exists():
        save_points_csv(member.sample(POINTS, seed=1234), csv)
    settings = recipe_settings(recipe, steps)
    model = settings.pop("model", "toy-mlp")
    config = Config.for_model(model, **settings, dataset="points-file", data_dir=str(csv), seed=seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=work) as out:
        try:
            summary = train_headless(config, steps, out, quality=False)
        except GanplayError as exc:  # a diverged run is a result (unsolved), not a crash of the table
            return {"error": f"{type(exc).__name__}: {exc}"[:300], "seconds": round(time.perf_counter() - t0, 1),
                    "modes": 0, "modes_total": len(member.weights), "high_quality": 0.0,
                    "reverse_kl": float("nan"), "solved": False}
        samples = np.load(Path(out) / "samples.npy")
        return {**score(member, samples), "seconds": round(time.perf_counter() - t0, 1),
                "train_seconds": round(summary.seconds, 1)}


def recipe_settings(recipe: dict, steps: int) -> dict:
    """The settings a cell trains with: the recipe's, a decaying rate reaching 0 at the last step."""
    settings = dict(recipe)
    if settings.get("lr_schedule", "constant") != "constant":
        settings["schedule_steps"] = steps
    return settings


def current(row: dict | None, recipe: dict | None, steps: int) -> bool:
    """Whether a stored cell was trained with the recipe as it is now. Each cell keeps its settings,
    so a preset changed since (own-2d-data's batch 256 -> 512) reruns instead of standing in the
    table under a recipe it was not trained with. A recipe no longer defined (kept under another
    name for the record) shows what was stored."""
    if row is None:
        return False
    return recipe is None or row.get("settings") == recipe_settings(recipe, steps)


def _key(recipe: str, member: str, seed: int, steps: int) -> str:
    return f"{recipe}|{member}|{seed}|{steps}"


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def run(args) -> int:
    from ganplay.files import atomic_write_bytes

    members = _select(family(args.family_seed), args.members)
    table = recipes()
    names = list(table) if args.recipes == "all" else args.recipes.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        print(f"unknown recipe {unknown[0]!r}; recipes: {', '.join(table)}", file=sys.stderr)
        return 2
    results = load_results(args.results)
    work = Path(tempfile.mkdtemp(prefix="mixtures-"))
    for seed in args.seeds:
        for name in names:
            for m in members:
                key = _key(name, m.name, seed, args.steps)
                if current(results.get(key), table[name], args.steps):
                    continue
                if key in results:
                    print(f"{key}: the recipe changed since this cell ran; training it again", flush=True)
                row = {**train_member(m, table[name], args.steps, seed, work),
                       "settings": recipe_settings(table[name], args.steps)}
                results[key] = row
                args.results.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(args.results, (json.dumps(results, indent=1) + "\n").encode())
                print(json.dumps({"recipe": name, "member": m.name, "seed": seed, "steps": args.steps, **row}),
                      flush=True)
    print(markdown(results, names, [m.name for m in members], args.seeds, args.steps, table))
    return 0


def _select(members: list[Member], spec: str) -> list[Member]:
    if spec == "all":
        return members
    wanted = spec.split(",")
    by_name = {m.name: m for m in members}
    missing = [w for w in wanted if w not in by_name]
    if missing:
        raise SystemExit(f"unknown member {missing[0]!r}; members: {', '.join(by_name)}")
    return [by_name[w] for w in wanted]


def markdown(results: dict, recipe_names: list[str], member_names: list[str], seeds: list[int], steps: int,
             table: dict | None = None) -> str:
    """Per recipe and seed: solved share, mean and worst modes-found share, high quality, reverse KL
    (cells trained with the recipe as ``table`` defines it now; see :func:`current`)."""
    table = table or {}
    header = (f"| recipe ({steps:,} steps) | seed | solved | modes found (mean / worst) | "
              "high quality (mean / worst) | reverse KL (mean / worst) | unsolved |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for name in recipe_names:
        for seed in seeds:
            rows = {m: results.get(_key(name, m, seed, steps)) for m in member_names}
            done = {m: r for m, r in rows.items() if current(r, table.get(name), steps)}
            if not done:
                continue
            found = [r["modes"] / r["modes_total"] for r in done.values()]
            hq = [r["high_quality"] for r in done.values()]
            # NaN: no sample near any mode (reverse KL undefined): left out of the mean, worst "∞"
            kl = [r["reverse_kl"] if math.isfinite(r["reverse_kl"]) else math.inf for r in done.values()]
            finite_kl = [v for v in kl if math.isfinite(v)] or [math.inf]
            solved = sum(r["solved"] for r in done.values())
            unsolved = ", ".join(m for m, r in done.items() if not r["solved"]) or "—"
            lines.append(f"| {name} | {seed} | {solved}/{len(done)} ({100 * solved / len(done):.0f}%) | "
                         f"{statistics.fmean(found):.2f} / {min(found):.2f} | "
                         f"{statistics.fmean(hq):.3f} / {min(hq):.3f} | "
                         f"{_fmt(statistics.fmean(finite_kl))} / {_fmt(max(kl))} | {unsolved} |")
    return "\n".join(lines)


def _fmt(v: float) -> str:
    return "∞" if not math.isfinite(v) else f"{v:.3f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("list", "run", "table"))
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    p.add_argument("--members", default="all", help="comma-separated member names, or all")
    p.add_argument("--recipes", default="defaults", help="comma-separated recipes (defaults, preset names), or all")
    p.add_argument("--family-seed", type=int, default=0, help="the seed that fixes the family")
    p.add_argument("--results", type=Path, default=RESULTS, help="the JSON of finished cells (resumable)")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    if args.what == "list":
        for m in family(args.family_seed):
            lo, hi = m.modes.min(axis=0), m.modes.max(axis=0)
            print(f"{m.name:18s} {len(m.weights):3d} modes  spread {m.spread:8.3g}  "
                  f"x {lo[0]:.4g}..{hi[0]:.4g}  y {lo[1]:.4g}..{hi[1]:.4g}  {m.hard}")
        return 0
    if args.what == "table":
        results = load_results(args.results)
        names = list(recipes()) if args.recipes == "all" else args.recipes.split(",")
        members = [m.name for m in _select(family(args.family_seed), args.members)]
        print(markdown(results, names, members, args.seeds, args.steps, recipes()))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
