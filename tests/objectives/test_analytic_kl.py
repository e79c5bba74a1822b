"""The analytic KL may replace E_q[log q - log p] only where p's parents were drawn before the site."""

import torch

from vaelab.models import MODELS, HierarchyParams, run_model
from vaelab.models.base import repeat_samples
from vaelab.objectives import elbo, log_weights


def _strongly_coupled_vae():
    """A 2-layer bottom-up VAE whose z2 depends strongly on z1 (where the closed form would be biased)."""
    torch.manual_seed(0)
    model = MODELS["vae"](20, HierarchyParams(latent=(4, 2), hidden=(32, 16), batch_norm=False)).eval()
    with torch.no_grad():
        for p in model.encoders[1].parameters():
            p.mul_(3)
        model.heads[1].mean.weight.mul_(5)
        model.heads[1].var.bias.fill_(-6)
        for p in model.generative.prior_mlps[0].parameters():
            p.mul_(3)
        model.generative.prior_heads[0].mean.weight.mul_(5)
    return model


def test_bottom_up_vae_elbo_equals_monte_carlo_elbo():
    """Same draws for both (same seed): only the KL terms differ, so the comparison is paired and tight."""
    model = _strongly_coupled_vae()
    x = torch.rand(50, 20, generator=torch.Generator().manual_seed(1)).bernoulli()
    n = 400
    with torch.no_grad():
        torch.manual_seed(5)
        bound = elbo(model, x, eq_samples=n).bound  # (B,)
        torch.manual_seed(5)
        lw = log_weights(run_model(model, x, n_samples=n), repeat_samples(x, n)).view(n, 50).mean(0)
    diff = bound - lw  # (B,) independent across examples, mean 0 when the KL terms are unbiased
    se = float(diff.std() / 50 ** 0.5)
    assert abs(float(diff.mean())) < 4 * se + 1e-3, (float(diff.mean()), se)


def test_flags_of_the_vae_sites():
    model = MODELS["vae"](20, HierarchyParams(latent=(4, 3, 2), hidden=(8, 8, 8)))
    out = model(torch.rand(3, 20))
    assert [s.analytic_kl for s in out.latents] == [False, False, True]
