"""Model registry. Importing this package registers every built-in model."""
from ganplay.models.base import MODELS, DiscriminatorOutput, GanPair, ModelSpec, as_output, conditioned
from ganplay.models import toy_mlp  # noqa: F401  (registers "toy-mlp")
from ganplay.models import gia_mlp, dcgan  # noqa: F401  (registers "gia-mlp", "dcgan28", "dcgan32")
from ganplay.models import sgan  # noqa: F401  (registers "sgan-mlp", "sgan64")
from ganplay.models import cgan  # noqa: F401  (registers "cgan-mlp")

__all__ = ["MODELS", "DiscriminatorOutput", "GanPair", "ModelSpec", "as_output", "conditioned"]
