"""Relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2018): each sample is compared
with the mean score of the other kind,
D̄(x_r) = σ(C(x_r) − E C(x_f)) and D̄(x_f) = σ(C(x_f) − E C(x_r)).

Follows the paper's equations (and the corrected reference code, AlexiaJM/RelativisticGAN,
``y_pred_fake - torch.mean(y_pred)``). The reference code also halves both losses, ``(… + …)/2``;
we do not, matching the paper and the other losses here (a constant scale Adam all but ignores).
"""
import jax.numpy as jnp

from ganplay.losses.base import LOSSES, AdversarialLoss, bce


def d_loss(real_logits, fake_logits, smoothing):
    """BCE(C(x_r) − E C(x_f), 1 − s) and BCE(C(x_f) − E C(x_r), 0)."""
    return (bce(real_logits - jnp.mean(fake_logits), 1.0 - smoothing),
            bce(fake_logits - jnp.mean(real_logits), 0.0))


def g_loss(fake_logits, real_logits, g_smoothing):
    """G's loss has a fake half and a real half (both move with G through the means):
    per_fake[i] = BCE(C(x_f[i]) − E C(x_r), 1) + BCE(C(x_r[i]) − E C(x_f), 0), pairing the real
    half with fakes by index (same batch sizes), so the mean is the paper's sum of two means.
    ``g_smoothing`` is ignored (the reference code has no smoothed G target)."""
    del g_smoothing
    return (bce(fake_logits - jnp.mean(real_logits), 1.0)
            + bce(real_logits - jnp.mean(fake_logits), 0.0))


LOSSES.register("ragan", AdversarialLoss(
    name="ragan",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = −log D̄(x) − log(1 − D̄(G(z)));  L_G = −log D̄(G(z)) − log(1 − D̄(x)), "
            "with D̄(x) = σ(C(x) − E C(G(z))), D̄(G(z)) = σ(C(G(z)) − E C(x))",
    summary="The relativistic average GAN (RaSGAN) of Jolicoeur-Martineau (2018): D judges each "
            "sample against the average of the other kind, and G both raises fakes and lowers reals.",
    smoothing=True,
    relativistic=True,
    critic=False,
))
