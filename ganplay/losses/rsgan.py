"""Relativistic standard GAN (Jolicoeur-Martineau 2018): D estimates the probability that a real
sample is more realistic than a fake one, σ(C(x_r) − C(x_f)).

Pairs are taken by batch index, as in the paper's reference code (AlexiaJM/RelativisticGAN:
``BCE_stable(y_pred - y_pred_fake, y)``), so real and fake batches must have the same size.
"""
import jax.numpy as jnp

from ganplay.losses.base import LOSSES, AdversarialLoss, bce


def d_loss(real_logits, fake_logits, smoothing):
    """BCE(C(x_r[i]) − C(x_f[i]), 1 − s) per pair. Each term already involves both samples, so
    the whole loss is returned as per_real and per_fake is zeros: mean + mean is still right."""
    return bce(real_logits - fake_logits, 1.0 - smoothing), jnp.zeros_like(fake_logits)


def g_loss(fake_logits, real_logits, g_smoothing):
    """BCE(C(x_f[i]) − C(x_r[i]), 1): G makes each fake look more real than its paired real.
    ``g_smoothing`` is ignored (the reference code has no smoothed G target)."""
    del g_smoothing
    return bce(fake_logits - real_logits, 1.0)


LOSSES.register("rsgan", AdversarialLoss(
    name="rsgan",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = −log σ(C(x) − C(G(z)));  L_G = −log σ(C(G(z)) − C(x))",
    summary="The relativistic standard GAN of Jolicoeur-Martineau (2018): D judges whether a real "
            "sample is more realistic than a paired fake, and G reverses that judgement.",
    smoothing=True,
    relativistic=True,
    critic=False,
))
