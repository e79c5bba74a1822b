"""Model families, one per file, and the registry that maps a config's `model.family` to a class.

Every class takes (input_dim, params) where params is an instance of its `Params` dataclass.
"""

from torch import nn

from vaelab.models.base import Latent, ModelOutput, repeat_samples, run_model
from vaelab.models.hierarchy import HierarchyParams
from vaelab.models.ladder_vae import LadderVAE
from vaelab.models.vae import VAE

MODELS: dict[str, type[nn.Module]] = {
    "vae": VAE,
    "lvae": LadderVAE,
}

__all__ = ["MODELS", "Latent", "ModelOutput", "repeat_samples", "run_model", "HierarchyParams", "VAE", "LadderVAE"]
