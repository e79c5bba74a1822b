"""Network building blocks: MLPs, distribution heads, the Ladder VAE's precision-weighted merge."""

from vaelab.layers.mlp import MLP, ACTIVATIONS
from vaelab.layers.heads import GaussianHead, BernoulliHead, OBSERVATION_HEADS, make_observation_head
from vaelab.layers.merge import precision_weighted_merge

__all__ = [
    "MLP",
    "ACTIVATIONS",
    "GaussianHead",
    "BernoulliHead",
    "OBSERVATION_HEADS",
    "make_observation_head",
    "precision_weighted_merge",
]
