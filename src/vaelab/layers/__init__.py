"""Network building blocks: MLPs, distribution heads, the Ladder VAE's precision-weighted merge,
MADE and normalizing flows (IAF, planar)."""

from vaelab.layers.mlp import MLP, ACTIVATIONS
from vaelab.layers.flows import FLOWS, Flow, FlowSettings, IAFStep, PlanarStep, make_flow
from vaelab.layers.heads import GaussianHead, BernoulliHead, OBSERVATION_HEADS, make_observation_head
from vaelab.layers.made import MADE
from vaelab.layers.merge import precision_weighted_merge

__all__ = [
    "MLP",
    "ACTIVATIONS",
    "GaussianHead",
    "BernoulliHead",
    "OBSERVATION_HEADS",
    "make_observation_head",
    "precision_weighted_merge",
    "MADE",
    "FLOWS",
    "Flow",
    "FlowSettings",
    "IAFStep",
    "PlanarStep",
    "make_flow",
]
