"""Non-saturating GAN loss (Goodfellow et al. 2014, §3): G maximises log D(G(z))."""
from ganplay.losses.base import LOSSES, AdversarialLoss, bce


def d_loss(real_logits, fake_logits, smoothing):
    """Cross-entropy of D against 1 − s for real (one-sided label smoothing) and 0 for fake."""
    return bce(real_logits, 1.0 - smoothing), bce(fake_logits, 0.0)


def g_loss(fake_logits, real_logits, g_smoothing):
    """−log D(G(z)): cross-entropy of the fakes against the "real" target 1 − g_smoothing."""
    del real_logits
    return bce(fake_logits, 1.0 - g_smoothing)


LOSSES.register("ns", AdversarialLoss(
    name="ns",
    d_loss=d_loss,
    g_loss=g_loss,
    formula="L_D = −log D(x) − log(1 − D(G(z)));  L_G = −log D(G(z))",
    summary="The non-saturating GAN loss of Goodfellow et al. (2014): G maximises log D(G(z)), "
            "which keeps its gradient alive when D confidently rejects the fakes.",
    smoothing=True,
    relativistic=False,
    critic=False,
))
