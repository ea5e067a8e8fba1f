"""Model registry. Importing this package registers every built-in model."""
from ganplay.models.base import MODELS, GanPair, ModelSpec
from ganplay.models import toy_mlp  # noqa: F401  (registers "toy-mlp")
from ganplay.models import gia_mlp, dcgan  # noqa: F401  (registers "gia-mlp", "dcgan28", "dcgan32")

__all__ = ["MODELS", "GanPair", "ModelSpec"]
