"""Datasets as in-memory tensors, task streams, test-time noise and batched augmentation.

Everything here works offline: `digits`, `synthetic`, image folders and (when the Debian
package is installed) `fashion_mnist`; torchvision datasets download when a network exists
and otherwise fail fast with `DatasetUnavailable`.
"""

from .dataset import Dataset, DatasetInfo, DatasetUnavailable
from .loading import DATASET_NAMES, load_dataset

__all__ = ["Dataset", "DatasetInfo", "DatasetUnavailable", "DATASET_NAMES", "load_dataset"]
