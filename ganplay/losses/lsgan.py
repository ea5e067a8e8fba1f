"""Least-squares GAN (Mao et al. 2017), with targets a = 0 (fake), b = c = 1 (real)."""
from ganplay.losses.base import LOSSES, AdversarialLoss


def d_loss(real_logits, fake_logits, smoothing):
    """½(C(x) − (1 − s))² and ½C(G(z))², on D's raw output (no sigmoid)."""
    return 0.5 * (real_logits - (1.0 - smoothing)) ** 2, 0.5 * fake_logits**2


def g_loss(fake_logits, real_logits, g_smoothing):
    """½(C(G(z)) − (1 − g_smoothing))²: G pulls D's output on fakes to the real target."""
    del real_logits
    return 0.5 * (fake_logits - (1.0 - g_smoothing)) ** 2


LOSSES.register("lsgan", AdversarialLoss(
    name="lsgan",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = ½(C(x) − 1)² + ½C(G(z))²;  L_G = ½(C(G(z)) − 1)²",
    summary="The least-squares GAN of Mao et al. (2017): D regresses its raw output to 1 for "
            "real and 0 for fake, and G pulls fakes towards 1.",
    smoothing=True,
    relativistic=False,
    critic=False,  # a raw score, but regressed to fixed targets 0 and 1
))
