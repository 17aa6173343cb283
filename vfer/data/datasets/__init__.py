"""The dataset adapters; importing this package registers each of them."""

from vfer.data.datasets import afew, ckplus, generic, photo_folder, savee  # noqa: F401
