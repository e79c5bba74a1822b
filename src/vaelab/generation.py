"""Generation for a run folder: the aggregate-posterior mixture (fitted once per checkpoint and kept in the run
folder), sampling from it or from the prior, uncertainty maps, and sample quality (Balancing-ELBO §3.5, §5).

Used by runs/ (vaelab evaluate / sample); knows the config and the evaluation parts, not the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.config import Config
from vaelab.data import load_dataset
from vaelab.evaluation import log_likelihood, standard_error
from vaelab.evaluation.aggregate_posterior import (AggregatePosterior, AggregatePrior, fit_aggregate_posterior,
                                                   kl_to_standard_normal, top_latent_codes)
from vaelab.evaluation.feature_classifier import (classifier_features, default_classifier_dir,
                                                  load_or_train_classifier)
from vaelab.evaluation.frechet import frechet_distance_of_features
from vaelab.evaluation.inception import inception_features, load_inception
from vaelab.evaluation.uncertainty import predicted_std, save_panels

SOURCES = ("prior", "aggregate")
SAMPLE_SEED = 2024  # generated images for sample quality: the same draws for every evaluation


class GenerationError(ValueError):
    """Generation asked of a model or run that cannot give it; the message says what to do."""


def aggregate_posterior(run_dir: str | Path, config: Config, model: nn.Module, train_x: Tensor,
                        checkpoint: str, epoch: int, digest: str | None = None) -> AggregatePosterior:
    """The run's mixture over the top latent, fitted on train_x (N, D) and saved, or loaded if it was fitted
    for this checkpoint (its epoch and, where it has one, its content digest) and these settings."""
    s = config.eval
    if s.aggregate_components < 1:
        raise GenerationError("eval.aggregate_components is 0: set it to the number of mixture components (e.g. 32)")
    want = {"checkpoint": checkpoint, "epoch": epoch, "components": s.aggregate_components,
            "covariance": s.aggregate_covariance, "fit_on": s.aggregate_fit_on}
    if digest is not None:  # a checkpoint rewritten inside an epoch keeps its epoch number
        want["checkpoint_sha256"] = digest
    if AggregatePosterior.exists(run_dir):
        saved = AggregatePosterior.load(run_dir)
        if all(saved.info.get(k) == v for k, v in want.items()):
            return saved
    with torch.random.fork_rng():
        torch.manual_seed(config.train.seed)
        codes = top_latent_codes(model, train_x, s.bn_batch_size, use_means=s.aggregate_fit_on == "means")
    agg = fit_aggregate_posterior(codes, s.aggregate_components, s.aggregate_covariance, config.train.seed,
                                  info={**want, "fitted_on": f"training split, {s.aggregate_fit_on} of the top latent"})
    agg.save(run_dir)
    return agg


def aggregate_report(agg: AggregatePosterior, config: Config, model: nn.Module, x: Tensor, k: int) -> dict[str, Any]:
    """What eval.json records of the mixture: KL(mixture || N(0, I)) (Monte Carlo), L_K on x with the mixture as
    the top prior (Table 3's "approx. agg. posterior" rows), and how it was fitted."""
    s = config.eval
    with torch.random.fork_rng():
        torch.manual_seed(SAMPLE_SEED)
        kl, se = kl_to_standard_normal(agg.distribution(), s.aggregate_kl_samples)
        ll = log_likelihood(AggregatePrior(model, agg), x, k, s.batch_size, s.sample_chunk)
    return {"kl_aggregate_prior": kl, "kl_aggregate_prior_se": se, "kl_samples": s.aggregate_kl_samples,
            "log_likelihood": float(ll.mean()), "log_likelihood_se": standard_error(ll),
            "bound": f"L_{k} with p(z_top) replaced by the mixture", **agg.info}


def generate(model: nn.Module, n: int, source: str, agg: AggregatePosterior | None = None) -> Distribution:
    """p(x | z) for n draws whose top latent comes from the prior or from the aggregate-posterior mixture."""
    if source not in SOURCES:
        raise GenerationError(f"--from must be one of {', '.join(SOURCES)}, got {source!r}")
    if source == "prior":
        return model.generate(n)
    decode = getattr(getattr(model, "generative", None), "decode_from_top", None)
    if decode is None or agg is None:
        raise GenerationError(f"{type(model).__name__} has no generative.decode_from_top(z_top): it cannot "
                              "sample from the aggregate posterior; use --from prior")
    z = agg.distribution().sample((n,)).to(next(model.parameters()).dtype)  # (n, D_L)
    return decode(z)


def write_uncertainty(run_dir: Path, model: nn.Module, x: Tensor, generated: Distribution,
                      image_shape: tuple[int, ...], ncol: int, suffix: str) -> list[Path]:
    """Heat maps of the predicted sigma beside the generated means and beside reconstructions of x (Figs. 3-4)."""
    px = model(x).px
    shape = (-1, *image_shape)
    images = lambda t: t.detach().reshape(shape).cpu().numpy()  # noqa: E731
    rec = save_panels([("input", images(x)), ("reconstruction", images(px.mean)),
                       ("sigma (predicted std)", predicted_std(px, image_shape))],
                      run_dir / "uncertainty-reconstructions.png", ncol)
    gen = save_panels([("sample (mean)", images(generated.mean)),
                       ("sigma (predicted std)", predicted_std(generated, image_shape))],
                      run_dir / f"uncertainty-samples{suffix}.png", ncol)
    return [rec, gen]


@torch.no_grad()
def _generated_images(model: nn.Module, n: int, source: str, agg: AggregatePosterior | None) -> Tensor:
    """Means of p(x | z) for n draws, (n, D), in chunks, with a fixed seed."""
    with torch.random.fork_rng():
        torch.manual_seed(SAMPLE_SEED)
        return torch.cat([generate(model, m, source, agg).mean for m in _chunks(n, 1000)])


def _chunks(n: int, size: int) -> list[int]:
    return [min(size, n - i) for i in range(0, n, size)]


def sample_quality(model: nn.Module, config: Config, agg: AggregatePosterior | None,
                   inception: str | None = None) -> dict[str, Any]:
    """Fréchet distances of generated means (prior and aggregate) to the test images, in the feature space of
    the stored fd_classifier and, with an Inception file, of Inception (FID); plus the training images'
    distance to the test images as the floor a perfect model reaches with that many images."""
    data = load_dataset(config.data.name, root=config.data.root, download=config.data.download,
                        path=config.data.path, image_size=config.data.image_size,
                        test_fraction=config.data.test_fraction)
    train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    test_x = torch.from_numpy(data.x_test)
    clf, meta = load_or_train_classifier(config.eval.classifier_dir or default_classifier_dir(), data.name, train,
                                         (test_x, torch.from_numpy(data.y_test)), data.num_classes,
                                         config.eval.classifier_epochs)
    n = config.eval.quality_samples
    sources = [s for s in SOURCES if s == "prior" or agg is not None]
    images = {s: _generated_images(model, n, s, agg) for s in sources}
    images["training images"] = train[0][:n]
    shape = (-1, *data.image_shape)
    extractors = {"fd_classifier": lambda x: classifier_features(clf, x)}
    if inception:
        net = load_inception(inception)
        extractors["fid_inception"] = lambda x: inception_features(net, x.reshape(shape))
    result: dict[str, Any] = {"n_generated": n, "n_test": int(test_x.shape[0]), "classifier": meta,
                              "images": "means of p(x|z), clipped to [0, 1], against the grey-level test images"}
    for name, features in extractors.items():
        reference = features(test_x)
        result[name] = {s: frechet_distance_of_features(features(x), reference) for s, x in images.items()}
    return result

