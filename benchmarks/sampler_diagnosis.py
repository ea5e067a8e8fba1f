"""Why DRS and MH-GAN add little on a trained toy GAN: what D's logit knows about G's samples.

    python benchmarks/sampler_diagnosis.py RUN_DIR [--refine 2000,5000] [--lr 1e-3,3e-4] [--fresh 20000]

RUN_DIR holds a run.npz of a Gaussian-mixture dataset (``benchmarks/samplers.py --runs`` keeps
them). 20,000 of G's samples are split into "good" (within 3 std of a mode, the PacGAN protocol's
high quality) and "bad"; for each D the script prints, as a JSON line, the calibrated logits of
both (mean, sd), the AUC of good against bad (the chance a good sample scores above a bad one;
0.5 = D cannot tell them apart) and the figures of DRS and MH with that D:

* ``trained``: the run's own D;
* ``refined``: the run's D trained on with G frozen, ``--refine`` steps at each ``--lr`` (the
  logistic loss, no penalty, Adam(lr, 0.5, 0.999), batches of the run's size, G's shown samples);
* ``fresh``: a new D of the same shape, unpacked (pack 1), trained ``--fresh`` steps the same way.

It also prints G's spread within a mode against the data's (1.0: as wide as the data's modes).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

N = 20_000


def train_d(trainer, state, steps: int, lr: float, seed: int = 0):
    """``state`` with D trained ``steps`` more Adam steps against G's shown samples (G frozen)."""
    import jax
    import optax

    from ganplay.losses import LOSSES

    logistic = LOSSES.get("ns").d_loss  # the logistic loss, whatever loss the run trained with
    tx = optax.adam(lr, b1=0.5, b2=0.999)
    batch = trainer.config.batch_size

    def body(carry, key):
        params, opt = carry
        kx, kz, kd = jax.random.split(key, 3)
        real = trainer.dataset.sample(trainer.data_arrays, kx, batch)
        fake = trainer._generate_impl(state, trainer.noise(kz, batch))

        def loss(p):
            lr_ = trainer._d_forward(p, state.d_stats, trainer._pack(real), None, kd)[0].logit
            lf = trainer._d_forward(p, state.d_stats, trainer._pack(fake), None, kd)[0].logit
            per_real, per_fake = logistic(lr_, lf, 0.0)
            return per_real.mean() + per_fake.mean()

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), value

    run = jax.jit(lambda p, keys: jax.lax.scan(body, (p, tx.init(p)), keys))
    (params, _), losses = run(state.d_params, jax.random.split(jax.random.PRNGKey(seed), steps))
    return state._replace(d_params=params), float(losses[-100:].mean())


def auc(scores, positive) -> float:
    from scipy.stats import rankdata

    r = rankdata(scores)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def report(name: str, trainer, state, x, good, loss=None) -> dict:
    import numpy as np

    from ganplay.engine import samplers
    from ganplay.engine.quality import QualityMonitor

    cal, partners = samplers.calibrate(trainer, state, 0)
    logits = cal(np.asarray(samplers.SamplerScores.of(trainer).logits(state, x, partners)))
    row = {"d": name, "d_loss": None if loss is None else round(loss, 4), "auc_good_vs_bad": round(auc(logits, good), 3),
           "logit_good": [round(float(logits[good].mean()), 3), round(float(logits[good].std()), 3)],
           "logit_bad": [round(float(logits[~good].mean()), 3), round(float(logits[~good].std()), 3)]}
    monitor = QualityMonitor(trainer)
    for sampler in ("drs", "mh"):
        drawn = samplers.sample(sampler, trainer, state, 2500, 0)
        m = monitor.metrics_of(drawn.samples)
        row[sampler] = {"acceptance": round(drawn.rate, 3), "modes": int(m["modes"]),
                        "high_quality": round(float(m["high_quality"]), 4), "reverse_kl": round(float(m["reverse_kl"]), 4)}
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--refine", default="2000,5000", help="comma-separated D-only steps from the trained D")
    ap.add_argument("--lr", default="1e-3,3e-4", help="comma-separated Adam rates for --refine")
    ap.add_argument("--fresh", type=int, default=20000, help="steps of a fresh unpacked D (0: skip)")
    args = ap.parse_args(argv)

    import jax
    import numpy as np

    from ganplay.engine.checkpoint import load_run
    from ganplay.engine.metrics import high_quality_mask
    from ganplay.engine.train import build_trainer

    config, trainer, state, _ = load_run(Path(args.run_dir) / "run.npz")
    modes = getattr(trainer.dataset, "modes", None)
    if modes is None:
        raise SystemExit(f"{args.run_dir}: dataset {config.dataset!r} has no modes to score against")
    x = np.asarray(trainer.generate(state, trainer.noise(jax.random.PRNGKey(5), N)))
    good = high_quality_mask(x, trainer.dataset)
    # G's spread within each mode against the data's (modes of one shared std, as grid25's).
    means, std = np.asarray(modes), float(np.asarray(trainer.dataset.stds).ravel()[0])
    nearest = ((x[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    spread = [float(x[good & (nearest == k)].std(0).mean() / std) for k in range(len(means))
              if (good & (nearest == k)).sum() > 5]
    print(json.dumps({"run": str(args.run_dir), "good_share": round(float(good.mean()), 4),
                      "spread_in_mode_vs_data": [round(float(np.mean(spread)), 2), round(float(np.max(spread)), 2)]}),
          flush=True)
    print(json.dumps(report("trained", trainer, state, x, good)), flush=True)
    for lr in (float(v) for v in args.lr.split(",") if v):
        for steps in (int(v) for v in args.refine.split(",") if v):
            refined, loss = train_d(trainer, state, steps, lr)
            print(json.dumps(report(f"refined {steps} @ {lr:g}", trainer, refined, x, good, loss)), flush=True)
    if args.fresh:
        unpacked = build_trainer(config.with_overrides(["pack=1"]))
        start = unpacked.init()
        start = start._replace(g_params=state.g_params, g_ema=state.g_ema, g_stats=state.g_stats, hyper=state.hyper)
        fresh, loss = train_d(unpacked, start, args.fresh, 1e-3)
        print(json.dumps(report(f"fresh unpacked {args.fresh} @ 0.001", unpacked, fresh, x, good, loss)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
