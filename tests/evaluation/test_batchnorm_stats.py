import torch

from vaelab.evaluation import recompute_batchnorm
from vaelab.models import MODELS, HierarchyParams


def test_batchnorm_statistics_describe_the_training_data():
    torch.manual_seed(0)
    model = MODELS["vae"](6, HierarchyParams(latent=(2,), hidden=(5,), batch_norm=True))
    x = torch.rand(300, 6).bernoulli()
    recompute_batchnorm(model, x, batch_size=300)  # one batch: exactly the data's statistics
    bn = model.encoders[0].net[1]
    h = model.encoders[0].net[0](x)
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, h.var(0), atol=1e-4)
    assert not model.training
    mom = bn.momentum
    recompute_batchnorm(model, x, batch_size=100)  # three batches: their average
    assert bn.momentum == mom
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-5)
