"""Hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018, SN-GAN)."""
import jax

from ganplay.losses.base import LOSSES, AdversarialLoss


def d_loss(real_logits, fake_logits, smoothing):
    """max(0, 1 − C(x)) and max(0, 1 + C(G(z))): a margin of 1 on each side."""
    del smoothing
    return jax.nn.relu(1.0 - real_logits), jax.nn.relu(1.0 + fake_logits)


def g_loss(fake_logits, real_logits, g_smoothing):
    """−C(G(z))."""
    del real_logits, g_smoothing
    return -fake_logits


LOSSES.register("hinge", AdversarialLoss(
    name="hinge",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = max(0, 1 − C(x)) + max(0, 1 + C(G(z)));  L_G = −C(G(z))",
    summary="The hinge loss of Lim & Ye (2017), popularised by Miyato et al.'s SN-GAN (2018): "
            "D is a margin classifier and G raises D's score on fakes.",
    smoothing=False,
    relativistic=False,
    critic=True,
))
