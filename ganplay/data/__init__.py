"""Dataset registry. Importing this package registers every built-in dataset."""
from ganplay.data.base import DATASETS, Dataset, DatasetSpec, to_uint8_images
from ganplay.data import toy  # noqa: F401  (registers gmm2, ring8, grid25, spiral)
from ganplay.data import images  # noqa: F401
from ganplay.data import points_file  # noqa: F401  (registers points-file)

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "to_uint8_images"]
