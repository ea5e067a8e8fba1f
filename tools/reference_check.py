"""A refactor's reference check: every game's outputs for fixed seeds, before and after a change.

    python tools/reference_check.py --dump refs.npz      # on the code before the change
    python tools/reference_check.py --check refs.npz     # after it: 0 mismatches, or what differs

Each of the 13 cases trains a few steps from a fixed seed and records parameters, optimizer
states, metrics, samples, D's scores, G's push, the class grid, test accuracy and the SGAN
baseline. ``--check`` compares each array with the dump (``--tol``, default 0: bit-identical)
and exits with status 1 on any mismatch. The MNIST cases find the data as ganplay does
(``--data-dir``, ``$GANPLAY_DATA``, the user cache); about 8 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

# Runnable from a checkout without installing: the repository root goes first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganplay.config import Config  # noqa: E402
from ganplay.engine.train import build_trainer, fetch_metrics  # noqa: E402

DATA_DIR = ""  # set from --data-dir


def flat(tree, prefix):
    out = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        out[prefix + jax.tree_util.keystr(path)] = np.asarray(jax.device_get(leaf))
    return out


def toy(**o):
    return Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32, **o)


def mnist(model, **o):
    return Config.for_model(model, dataset="mnist", data_dir=DATA_DIR, **o)


CASES = {
    "toy": lambda: toy(),
    "toy_wgan_gp": lambda: toy(loss="wgan", gp_weight=10.0),
    "toy_r1_pack_ema": lambda: toy(r1_weight=1.0, pack=2, ema_decay=0.9, g_steps=2),
    "toy_ragan_noise": lambda: toy(loss="ragan", instance_noise=0.5, instance_noise_steps=10, d_steps=2),
    "toy_hinge_clip_sched": lambda: toy(loss="hinge", weight_clip=0.1, lr_schedule="cosine", opt_g="sgd", beta1=0.5, label_smoothing=0.0),
    "toy_lsgan_smooth": lambda: toy(loss="lsgan", label_smoothing=0.1, smooth_g_target=True, minibatch_std=True, spectral_norm=True),
    "gia": lambda: mnist("gia-mlp", hidden=32, batch_size=16),
    "dcgan": lambda: mnist("dcgan28", width=0.125, batch_size=8),
    "cgan": lambda: mnist("cgan-mlp", hidden=32, batch_size=32),
    "cgan_minimax": lambda: mnist("cgan-mlp", hidden=32, batch_size=32, loss="minimax", label_smoothing=0.1, d_steps=2),
    "sgan_k": lambda: mnist("sgan-mlp", width=0.0625, batch_size=32, labels_per_class=10, sgan_head="k"),
    "sgan_k1_adv": lambda: mnist("sgan-mlp", width=0.0625, batch_size=32, labels_per_class=10, sgan_head="k+1", adv_weight=1.0, fm_weight=0.5, label_smoothing=0.1, d_steps=2),
    "sgan64": lambda: mnist("sgan64", width=0.0625, batch_size=8),
}


def record(name):
    config = CASES[name]()
    t = build_trainer(config)
    out = {}
    s0 = t.init()
    out.update(flat(s0, "init"))
    s, m = t.run(s0, 3)
    out.update(flat(s, "run"))
    out.update(flat(fetch_metrics(m), "runm"))
    s, m = t.d_step(s)
    out.update(flat((s, m), "dstep"))
    s, m = t.g_step(s)
    out.update(flat((s, m), "gstep"))
    s, m = t.run(s, 2)
    out.update(flat((s, m), "run2"))
    z = t.fixed_noise(6)
    x = t.generate(s, z)
    out["gen"] = np.asarray(x)
    out["disc"] = np.asarray(t.discriminate(s, x))
    if t.data_shape == (2,):
        out["push"] = np.asarray(t.g_loss_push(s, x))
        out["field"] = np.asarray(t.discriminator_field(s, (-2, 2, -2, 2), 8))
    else:
        try:
            out["push"] = np.asarray(t.g_loss_push(s, x))
        except ValueError as e:
            print(name, "push failed", e)
    if hasattr(t, "class_grid"):
        out["grid"] = t.class_grid(s, 2)[0]
    if hasattr(t, "test_accuracy"):
        acc, conf = t.test_accuracy(s)
        out["acc"] = np.float64(acc)
        out["conf"] = conf
        from ganplay.engine.sgan import SupervisedBaseline
        b = SupervisedBaseline(t)
        bs, bm = b.run(b.init(), 3)
        out.update(flat((bs, bm), "base"))
    return out


def compare(name, ref, out, tol):
    """The number of arrays of case ``name`` that differ from the reference (printed)."""
    bad = 0
    if set(ref) != set(out):
        print(name, "KEYS DIFFER", sorted(set(ref) ^ set(out))[:10])
        bad += 1
    worst = 0.0
    for k in sorted(set(ref) & set(out)):
        a, b = ref[k], out[k]
        if a.shape != b.shape or a.dtype != b.dtype:
            print(name, k, "shape/dtype", a.shape, a.dtype, b.shape, b.dtype)
            bad += 1
            continue
        same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        d = 0.0 if same or not a.size else float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        worst = max(worst, d)
        if not same and not d <= tol:
            print(name, k, "differs by", d)
            bad += 1
    return bad, worst


def main(argv=None):
    global DATA_DIR
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dump", metavar="FILE", help="record the outputs into FILE (.npz)")
    mode.add_argument("--check", metavar="FILE", help="compare the outputs with FILE")
    p.add_argument("--tol", type=float, default=0.0, help="largest absolute difference allowed (default 0: bit-identical)")
    p.add_argument("--data-dir", default="", help="the MNIST folder (default: where ganplay finds it)")
    p.add_argument("cases", nargs="*", help=f"cases to run (default all: {', '.join(CASES)})")
    args = p.parse_args(argv)
    DATA_DIR = args.data_dir
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")
    ref = {}
    if args.check:
        with np.load(args.check) as f:
            ref = dict(f)
    dumped, bad = {}, 0
    for name in names:
        t0 = time.time()
        out = record(name)
        if args.dump:
            dumped.update({f"{name}/{k}": v for k, v in out.items()})
            print(f"{name}: {len(out)} arrays recorded ({time.time() - t0:.0f} s)", flush=True)
            continue
        mine = {k.split("/", 1)[1]: v for k, v in ref.items() if k.startswith(name + "/")}
        b, worst = compare(name, mine, out, args.tol)
        bad += b
        print(f"{name}: {'identical' if not b and worst == 0 else f'max abs diff {worst:.3g}'} "
              f"({time.time() - t0:.0f} s)", flush=True)
    if args.dump:
        np.savez(args.dump, **dumped)
        print(f"wrote {len(dumped)} arrays to {args.dump}")
        return 0
    print("MISMATCHES", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
