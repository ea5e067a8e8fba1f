"""Adversarial losses, picked by name. Importing this package registers every built-in loss.

Each loss is a small module with one ``LOSSES.register(...)`` call; adding one is one new file
plus one import line below. Pure JAX: nothing here knows about models, the engine or Qt.
"""
from ganplay.losses.base import LOSSES, AdversarialLoss
from ganplay.losses import ns, minimax  # noqa: F401  (registers "ns", "minimax")
from ganplay.losses import lsgan, hinge, wgan  # noqa: F401  (registers "lsgan", "hinge", "wgan")
from ganplay.losses import rsgan, ragan  # noqa: F401  (registers "rsgan", "ragan")


def loss_names() -> list[str]:
    """The registered loss names, in registration order."""
    return LOSSES.names()


__all__ = ["LOSSES", "AdversarialLoss", "loss_names"]
