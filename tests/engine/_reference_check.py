"""A refactor's reference check (not collected by pytest): every game's outputs for fixed seeds.

Run ``python tests/engine/_reference_check.py dump`` on the code before a change (it writes
/tmp/ref_params_<case>.npz), then ``... compare`` after it: parameters, optimizer states, metrics,
samples, D's scores, G's push, the class grid, test accuracy and the SGAN baseline, each within
1e-6 of the reference. Each case trains a few steps (13 cases: about 8 minutes on 2 cores).
"""
import sys
import time
from pathlib import Path

import jax
import numpy as np

from ganplay.config import Config
from ganplay.engine.train import build_trainer, fetch_metrics

MNIST = str(Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")


def flat(tree, prefix):
    out = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        out[prefix + jax.tree_util.keystr(path)] = np.asarray(jax.device_get(leaf))
    return out


def toy(**o):
    return Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32, **o)


CASES = {
    "toy": lambda: toy(),
    "toy_wgan_gp": lambda: toy(loss="wgan", gp_weight=10.0),
    "toy_r1_pack_ema": lambda: toy(r1_weight=1.0, pack=2, ema_decay=0.9, g_steps=2),
    "toy_ragan_noise": lambda: toy(loss="ragan", instance_noise=0.5, instance_noise_steps=10, d_steps=2),
    "toy_hinge_clip_sched": lambda: toy(loss="hinge", weight_clip=0.1, lr_schedule="cosine", opt_g="sgd", beta1=0.5, label_smoothing=0.0),
    "toy_lsgan_smooth": lambda: toy(loss="lsgan", label_smoothing=0.1, smooth_g_target=True, minibatch_std=True, spectral_norm=True),
    "gia": lambda: Config.for_model("gia-mlp", dataset="mnist", data_dir=MNIST, hidden=32, batch_size=16),
    "dcgan": lambda: Config.for_model("dcgan28", dataset="mnist", data_dir=MNIST, width=0.125, batch_size=8),
    "cgan": lambda: Config.for_model("cgan-mlp", dataset="mnist", data_dir=MNIST, hidden=32, batch_size=32),
    "cgan_minimax": lambda: Config.for_model("cgan-mlp", dataset="mnist", data_dir=MNIST, hidden=32, batch_size=32, loss="minimax", label_smoothing=0.1, d_steps=2),
    "sgan_k": lambda: Config.for_model("sgan-mlp", dataset="mnist", data_dir=MNIST, width=0.0625, batch_size=32, labels_per_class=10, sgan_head="k"),
    "sgan_k1_adv": lambda: Config.for_model("sgan-mlp", dataset="mnist", data_dir=MNIST, width=0.0625, batch_size=32, labels_per_class=10, sgan_head="k+1", adv_weight=1.0, fm_weight=0.5, label_smoothing=0.1, d_steps=2),
    "sgan64": lambda: Config.for_model("sgan64", dataset="mnist", data_dir=MNIST, width=0.0625, batch_size=8),
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


def main():
    mode, names = sys.argv[1], sys.argv[2:] or list(CASES)
    bad = 0
    for name in names:
        t0 = time.time()
        out = record(name)
        path = f"/tmp/ref_params_{name}.npz"
        if mode == "dump":
            np.savez(path, **out)
            print(f"{name}: {len(out)} arrays dumped ({time.time() - t0:.0f} s)", flush=True)
            continue
        ref = dict(np.load(path))
        if set(ref) != set(out):
            print(name, "KEYS DIFFER", sorted(set(ref) ^ set(out))[:10])
            bad += 1
        worst = 0.0
        for k in sorted(set(ref) & set(out)):
            a, b = ref[k], out[k]
            if a.shape != b.shape:
                print(name, k, "shape", a.shape, b.shape)
                bad += 1
                continue
            d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
            worst = max(worst, d)
            if not d <= 1e-6:
                print(name, k, "differs by", d)
                bad += 1
        print(f"{name}: max abs diff {worst:.3g} ({time.time() - t0:.0f} s)", flush=True)
    print("MISMATCHES", bad)


if __name__ == "__main__":
    main()
