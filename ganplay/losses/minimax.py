"""The original minimax GAN loss (Goodfellow et al. 2014, eq. 1): G minimises log(1 − D(G(z)))."""
import jax

from ganplay.losses import ns
from ganplay.losses.base import LOSSES, AdversarialLoss


def g_loss(fake_logits, real_logits, g_smoothing):
    """log(1 − σ(l)) = −softplus(l): saturates (vanishing gradient) when D rejects the fakes."""
    del real_logits, g_smoothing
    return -jax.nn.softplus(fake_logits)


LOSSES.register("minimax", AdversarialLoss(
    name="minimax",
    d_loss=ns.d_loss,  # D's side of the game is the same cross-entropy
    g_loss=g_loss,
    formula="L_D = −log D(x) − log(1 − D(G(z)));  L_G = log(1 − D(G(z)))",
    summary="The original zero-sum GAN game of Goodfellow et al. (2014): G minimises "
            "log(1 − D(G(z))), whose gradient vanishes early in training.",
    smoothing=True,
    relativistic=False,
    critic=False,
))
