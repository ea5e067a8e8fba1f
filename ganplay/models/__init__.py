"""Model registry. Importing this package registers every built-in model."""
from ganplay.models.base import MODELS, GanPair, ModelSpec
from ganplay.models import toy_mlp  # noqa: F401  (registers "toy-mlp")

__all__ = ["MODELS", "GanPair", "ModelSpec"]
