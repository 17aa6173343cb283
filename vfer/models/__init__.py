"""Expression models: the registry, the paper's video model and the FER2013 frame model."""

from vfer.models import c3d_convlstm, mini_xception, two_branch  # noqa: F401  (registers the builders)
from vfer.models.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from vfer.models.registry import create_model, list_models, model_entry

__all__ = ["CheckpointMeta", "create_model", "list_models", "load_checkpoint", "model_entry", "save_checkpoint"]
