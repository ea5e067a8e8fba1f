"""Wasserstein GAN loss (Arjovsky et al. 2017). The Lipschitz constraint on the critic is not
part of the loss: see :mod:`ganplay.losses.penalties` (weight clipping, gradient penalty)."""
from ganplay.losses.base import LOSSES, AdversarialLoss


def d_loss(real_logits, fake_logits, smoothing):
    """−C(x) and C(G(z)): the critic widens the gap between real and fake scores."""
    del smoothing
    return -real_logits, fake_logits


def g_loss(fake_logits, real_logits, g_smoothing):
    """−C(G(z))."""
    del real_logits, g_smoothing
    return -fake_logits


LOSSES.register("wgan", AdversarialLoss(
    name="wgan",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = C(G(z)) − C(x);  L_G = −C(G(z))",
    summary="The Wasserstein GAN of Arjovsky et al. (2017): a Lipschitz critic estimates the "
            "earth-mover distance, which G minimises.",
    smoothing=False,
    relativistic=False,
    critic=True,
))
