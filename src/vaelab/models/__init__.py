"""Model families, one per file, and the registry that maps a config's `model.family` to a class.

Every class takes (input_dim, params) where params is an instance of its `Params` dataclass.
Semi-supervised families (`takes_labels`) take the label as a site: see models/base.py.
"""

from torch import nn

from vaelab.models.adgm import ADGM
from vaelab.models.auxiliary_vae import AuxiliaryVAE, AuxiliaryVAEParams
from vaelab.models.base import LabelSite, Latent, ModelOutput, repeat_samples, run_model, takes_labels
from vaelab.models.hierarchy import HierarchyParams
from vaelab.models.ladder_vae import LadderVAE
from vaelab.models.m2 import M2
from vaelab.models.sdgm import SDGM
from vaelab.models.semisupervised import AuxiliaryParams, SemiSupervisedParams
from vaelab.models.vae import VAE

MODELS: dict[str, type[nn.Module]] = {
    "vae": VAE,
    "lvae": LadderVAE,
    "avae": AuxiliaryVAE,
    "m2": M2,
    "adgm": ADGM,
    "sdgm": SDGM,
}

__all__ = ["MODELS", "Latent", "LabelSite", "ModelOutput", "repeat_samples", "run_model", "takes_labels",
           "HierarchyParams", "VAE", "LadderVAE", "AuxiliaryVAE", "AuxiliaryVAEParams", "M2", "ADGM", "SDGM",
           "SemiSupervisedParams", "AuxiliaryParams"]
