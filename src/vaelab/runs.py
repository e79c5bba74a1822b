"""The run folder: what `vaelab train | evaluate | sample` do, composed from the package's parts.

A run folder holds config.yaml, checkpoint.pt (last epoch, or the place inside an epoch where training
stopped), best.pt (best validation ELBO), their previous versions checkpoint.prev.pt and best.prev.pt,
metrics.jsonl, tensorboard/, the writer's lock .lock, and after evaluation eval.json; after sampling, PNG
grids. One process writes it at a time (train/runlock.py); every file is replaced atomically, so evaluate,
sample and report can read a run while it trains (docs/guides/run-folder.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelab.config import Config, ConfigError, config_from_dict, config_to_dict, dump_config, load_config
from vaelab.data import (DataError, Splits, add_uniform_noise_fixed, binarize_fixed, check_labels, dequantize_fixed,
                         drop_inputs, grey_levels, load_dataset, make_splits, restore_inputs, select_inputs,
                         split_labelled)
from vaelab.execution import Execution
from vaelab.files import write_text_atomic
from vaelab.evaluation import (active_units, analogies, has_batchnorm, log_likelihood, recompute_batchnorm,
                               samples_per_class, save_grid, semi_supervised_metrics, standard_error,
                               summarise_bounds)
from vaelab.layers.decoder_variance import DECODER_VARIANCE_HEADS
from vaelab.generation import aggregate_posterior, aggregate_report, generate, sample_quality, write_uncertainty
from vaelab.models import MODELS, takes_labels
from vaelab.models.semisupervised import class_probabilities
from vaelab.objectives.label_weighting import LABEL_WEIGHTINGS
from vaelab.objectives.semisupervised import BATCH_WEIGHTINGS
from vaelab.train.checkpoint import CheckpointError, check_metadata, previous_path, promote_previous, read_checkpoint
from vaelab.train.distributed import current_group, launch
from vaelab.train.freeze import check_freeze
from vaelab.train import BEST, LAST, RunLock, TrainData, fit, read_metrics
from vaelab.train.semisupervised import SemiSupervisedData

CONFIG_FILE, EVAL_FILE, LABELLED_FILE = "config.yaml", "eval.json", "labelled.json"
DEQUANTIZE_VAL_OFFSET, DEQUANTIZE_TEST_OFFSET = 11, 12
TRAIN_EVAL_SEED, TRAIN_BN_SEED, CLASSIFY_SEED = 12345, 12346, 12347  # fixed binarisations
RESUMABLE_OVERRIDES = {"train.epochs", "train.progress", "train.threads", "train.device", "train.precision",
                       "train.compile", "train.check_distributions", "train.checkpoint_every_steps"}
TRAINING_BYTES_PER_PARAMETER = 16  # float32 weights, gradients and Adam's two moments


class RunError(ValueError):
    """A run folder that is missing, already used, or asked for something it cannot do."""


def prepare_data(config: Config) -> Splits:
    """Load the configured data set and split it (validation held out; val/test binarised once)."""
    observation = getattr(config.model.params, "observation", None)
    if observation == "bernoulli" and not config.data.binarize:
        raise ConfigError("model.observation is bernoulli but data.binarize is false: set data.binarize: true "
                          "or use model.observation: gaussian for grey levels")
    if observation in DECODER_VARIANCE_HEADS and config.data.binarize:
        raise ConfigError(f"model.observation {observation} models real-valued data but data.binarize is true: "
                          "set data.binarize: false")
    dataset = load_dataset(config.data.name, root=config.data.root, download=config.data.download,
                           path=config.data.path, image_size=config.data.image_size,
                           test_fraction=config.data.test_fraction)
    splits = make_splits(dataset, config.data.validation, config.train.seed, config.data.binarize)
    if config.data.dequantize:  # held-out sets: noise drawn once, with fixed seeds
        levels = grey_levels(config.data.name)
        splits.val = dequantize_fixed(splits.val, levels, config.train.seed + DEQUANTIZE_VAL_OFFSET)
        splits.test = dequantize_fixed(splits.test, levels, config.train.seed + DEQUANTIZE_TEST_OFFSET)
    return drop_inputs(splits, config.data.drop_std)


def fixed_train(splits: Splits, config: Config, seed: int) -> torch.Tensor:
    """The training split as evaluation sees it: binarised or dequantised once with `seed`, else as stored."""
    if splits.binarize:
        return binarize_fixed(splits.train, seed=seed)
    if config.data.dequantize:
        return dequantize_fixed(splits.train, grey_levels(config.data.name), seed)
    if splits.noise_width is not None:
        return add_uniform_noise_fixed(splits.train, splits.noise_width, seed)
    return splits.train


def build_model(config: Config, input_dim: int) -> nn.Module:
    """The model named by config.model.family with its typed params; ConfigError for one too big to train here."""
    family, params = MODELS[config.model.family], config.model.params
    try:
        with torch.device("meta"):  # count the parameters without allocating them
            n = sum(p.numel() for p in family(input_dim, params).parameters())
    except (RuntimeError, NotImplementedError, TypeError):
        n = 0  # a model that cannot be built on the meta device is checked as it is built
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    if memory and n * TRAINING_BYTES_PER_PARAMETER > memory:
        raise ConfigError(f"the model would have {n:,} parameters, {n * TRAINING_BYTES_PER_PARAMETER / 2**30:.0f} GiB "
                          f"to train, more than this machine's {memory / 2**30:.0f} GiB; reduce model.hidden or model.latent")
    try:
        return family(input_dim, params)
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and "memory" not in str(err):
            raise
        raise ConfigError(f"the model does not fit in memory ({str(err).splitlines()[0][:100]}); reduce "
                          "model.hidden or model.latent") from None


def model_metadata(config: Config, input_dim: int, architecture: str | None = None) -> dict[str, Any]:
    """What a checkpoint records of its model, to refuse one from another model (architecture: see own_architecture)."""
    own = {} if architecture is None else {"architecture": architecture}
    return {"family": config.model.family, "params": config_to_dict(config)["model"], "input_dim": input_dim, **own}


def _layout(model: nn.Module) -> str:
    """A digest of the names and shapes of a model's parameters and buffers."""
    text = ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def own_architecture(model: nn.Module | None, config: Config, input_dim: int) -> str | None:
    """For a model object built in Python (own networks, docs/guides/own-networks.md): its class and a digest of its
    layout, which its checkpoints record; None when it has the layout config.model builds (or none was given)."""
    if model is None:
        return None
    name = f"{type(model).__name__} {_layout(model)}"
    try:
        with torch.device("meta"):  # shapes only: no memory, no draw from the random generator
            built = MODELS[config.model.family](input_dim, config.model.params)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return name
    return None if type(built) is type(model) and _layout(built) == _layout(model) else name


def _check_fits(model: nn.Module, splits: Splits) -> None:
    """ConfigError unless a model object given from Python reads this data: one pass over two training examples."""
    x, dim = splits.train[:2], splits.train.shape[1]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            px = model(x).px
    except Exception as err:  # noqa: BLE001 - whatever the model's own code raises, the cause is the same
        raise ConfigError(f"the model given fails on this data's examples of {dim} inputs ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:160]}); build it with input_dim {dim}") from None
    finally:
        model.train(was_training)
    if tuple(px.event_shape) != (dim,):
        raise ConfigError(f"the model's p(x|.) has event shape {tuple(px.event_shape)} but the data have {dim} inputs "
                          f"per example; build it with input_dim {dim}")


def _check_architecture(path: Path, state: dict[str, Any], want: str | None) -> None:
    have = state.get("metadata", {}).get("architecture")
    if have == want:
        return
    if want is None:
        raise CheckpointError(f"checkpoint {path} holds a model with own networks ({have}) that config.yaml cannot "
                              "rebuild; load it in Python with vaelab.own_models.evaluate_model(model, run_dir), the "
                              "model built as for training")
    raise CheckpointError(f"checkpoint {path} holds {have or 'the model config.yaml describes'}, not the model given "
                          f"({want}); build the model as it was built for training")


def _with_current_defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's model metadata with settings added to its family since then filled by their defaults."""
    params = metadata.get("params")
    if metadata.get("family") not in MODELS or not isinstance(params, dict):
        return metadata
    try:
        return {**metadata, "params": config_to_dict(config_from_dict({"model": params}))["model"]}
    except ConfigError:
        return metadata  # not a model this version can build: the comparison will say so


def check_checkpoint(path: Path, config: Config, input_dim: int, fallback: bool = False,
                     architecture: str | None = None) -> tuple[Path, dict[str, Any]]:
    """(the file read, its state): a verified checkpoint that holds the model this config describes.

    fallback: where `path` is damaged, read its previous version instead (announced on stderr).
    architecture: that of a model object given from Python (own_architecture); None for the one config builds.
    """
    read, state = read_checkpoint(path, fallback)
    check_metadata(read, state, model_metadata(config, input_dim), normalise=_with_current_defaults)
    _check_architecture(read, state, architecture)
    return read, state


def load_weights(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """The checkpoint's weights into model; CheckpointError when they do not fit it."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {path} does not fit this model ({str(err).splitlines()[0][:120]})") from None


def checkpoint_position(state: dict[str, Any]) -> dict[str, Any]:
    """For a checkpoint written inside an epoch: where (what eval.json records beside its epoch)."""
    position = state.get("in_epoch")
    if position is None:
        return {}
    return {"in_epoch": f"step {position['batches']} of {position['of']} of epoch {position['epoch']}"}


def _write_text_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def _require_run_folder(run_dir: Path) -> None:
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunError(f"{run_dir} is not a run folder (no {CONFIG_FILE}); start one with vaelab train CONFIG --run-dir {run_dir}")


def _run_config(run_dir: Path, overrides: list[str]) -> Config:
    """A run folder's config.yaml with `--set` overrides (already checked by the caller)."""
    _require_run_folder(run_dir)
    return load_config(run_dir / CONFIG_FILE, overrides)


def _resume_config(run_dir: Path, overrides: list[str]) -> Config:
    bad = [o for o in overrides if o.partition("=")[0].strip() not in RESUMABLE_OVERRIDES]
    if bad:
        raise RunError(f"--set {bad[0]} cannot change a run being resumed; only {', '.join(sorted(RESUMABLE_OVERRIDES))} can")
    return _run_config(run_dir, overrides)


SEMI_SUPERVISED_ONLY = {("data", "labelled_per_class"): 0, ("data", "binarize_every"): "epoch",
                        ("data", "unlabelled_set"): "rest", ("data", "labelled_choice"): "random",
                        ("train", "unlabelled_order"): "shuffled"}  # key -> the value every other family keeps


def _unsupervised_task(config: Config, splits: Splits, run_dir: Path) -> TrainData:
    for (section, key), default in SEMI_SUPERVISED_ONLY.items():
        if getattr(getattr(config, section), key) != default:
            raise ConfigError(f"{section}.{key} is for the semi-supervised families (m2, adgm, sdgm), not "
                              f"{config.model.family}; remove it")
    levels = grey_levels(config.data.name) if config.data.dequantize else 0
    return TrainData(splits.train, splits.val, splits.binarize, dequantize_levels=levels,
                     noise_width=splits.noise_width)


def _semi_supervised_task(config: Config, splits: Splits, run_dir: Path) -> SemiSupervisedData:
    """The labelled subset (recorded in labelled.json) and the rest, for a semi-supervised family."""
    p, d, t = config.model.params, config.data, config.train
    if d.labelled_per_class < 1:
        raise ConfigError(f"model.family {config.model.family} is semi-supervised: set data.labelled_per_class "
                          f"(labelled examples per class, e.g. 10 for MNIST with 100 labels)")
    if splits.num_classes == 0:
        raise ConfigError(f"model.family {config.model.family} learns from labels but {d.path or d.name} holds none "
                          f"(npz: add y; images: one folder per class); train an unsupervised family on it instead")
    if p.classes != splits.num_classes:
        raise ConfigError(f"model.classes is {p.classes} but {d.name} has {splits.num_classes} classes; "
                          f"set model.classes: {splits.num_classes}")
    if d.dequantize:
        raise ConfigError("data.dequantize is not available for the semi-supervised families (SVHN and NORB add "
                          "their own uniform noise anew every epoch); remove data.dequantize")
    if t.iw_samples != 1:
        raise ConfigError("train.iw_samples > 1 is not available for the semi-supervised families; "
                          "use train.eq_samples for more samples of a and z")
    check_labels(splits.val_labels, p.classes, "validation set")
    split = split_labelled(splits.train, splits.train_labels, d.labelled_per_class, p.classes, t.seed,
                           d.labelled_choice, d.unlabelled_set)
    for key, registry in (("batch_weighting", BATCH_WEIGHTINGS), ("label_weights", LABEL_WEIGHTINGS)):
        if getattr(t, key) not in registry:
            raise ConfigError(f"train.{key} is {getattr(t, key)!r}; choose one of {sorted(registry)}")
    if (t.labelled_batch or t.batch_size // 2) < 1:
        raise ConfigError("train.batch_size must be at least 2 for a semi-supervised family (labelled + unlabelled)")
    if current_group().main:  # one writer in a data-parallel run
        record = split.record(d.labelled_per_class, t.seed, d.labelled_choice)
        _write_text_atomic(run_dir / LABELLED_FILE, json.dumps(record))
    return SemiSupervisedData(split, splits.val, splits.val_labels, splits.binarize, t.classification_weight,
                              t.labelled_batch, config.eval.classify_samples, splits.noise_width, d.binarize_every,
                              classify_inputs(splits, config, "val"))


def classify_inputs(splits: Splits, config: Config, split: str) -> torch.Tensor | None:
    """The grey levels behind a binarised split when eval.classify_inputs is grey (the ADGM authors' code classifies
    the grey-level images, adgmssl.py:305-311); None: the classifier reads the split's evaluation tensor."""
    if not (splits.binarize and config.eval.classify_inputs == "grey"):
        return None
    return {"train": splits.train, "val": splits.val_grey, "test": splits.test_grey}[split]


TASKS = {False: _unsupervised_task, True: _semi_supervised_task}  # keyed by takes_labels(family)


def train_run(config_path: str | Path | dict | Config | None, run_dir: str | Path, overrides: list[str] = (),
              resume: bool = False, init_from: str | Path | None = None, nproc: int = 1,
              fallback: bool = False) -> list[dict]:
    """`vaelab train` and vaelab.train: a new run in run_dir, or (resume) continue the run already there.

    config_path: what config.load_config reads (a YAML file, a preset name, a dict or a Config); None with resume.

    init_from: start a new run from the weights of another run's last checkpoint (e.g. the LVAE paper's
    fine-tuning); its model must match this config's model.
    fallback: where the checkpoint to start from is damaged, use its previous version (checkpoint.prev.pt).

    The process holds run_dir's lock (train/runlock.py) while it writes there: a second writer stops at once.
    nproc > 1 trains data-parallel in that many processes (train/distributed.py); the arguments are checked
    here first, so that a user error is one line, then every process runs _train_process under the lock this
    process holds. Returns this call's epoch records (read back from metrics.jsonl after a data-parallel run).
    """
    run_dir, overrides = Path(run_dir), list(overrides)
    if nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {nproc}")
    if resume and config_path is not None:
        raise RunError("a resumed run keeps its own config.yaml: give no config to resume (change settings with "
                       "--set, e.g. train.epochs)")
    if resume:
        _require_run_folder(run_dir)  # no lock file in a folder that holds no run
    else:
        load_config(config_path, overrides)  # a bad config is an error before the folder is touched
    if nproc > 1:
        with RunLock(run_dir):  # this launcher holds it; the processes it starts write under it
            prepare_data(_train_config(config_path, run_dir, overrides, resume))  # errors before spawning
            if resume and fallback:
                _resume_state(run_dir, None, 0, True)  # put a good checkpoint.pt in place for the processes
            first = len(read_metrics(run_dir / "metrics.jsonl")) if resume else 0
            launch(nproc, _train_process, config_path, run_dir, overrides, resume, init_from, False)
        return read_metrics(run_dir / "metrics.jsonl")[first:]
    with RunLock(run_dir, current_group()):  # under torchrun rank 0 takes it and every process learns the outcome
        return _train_process(config_path, run_dir, overrides, resume, init_from, fallback)


def _train_process(config_path: str | Path | dict | Config | None, run_dir: Path, overrides: list[str], resume: bool,
                   init_from: str | Path | None, fallback: bool) -> list[dict]:
    """One process's part of train_run, the run folder's lock being held (by this process or its launcher)."""
    config = _train_config(config_path, run_dir, overrides, resume)
    return fit_config(config, run_dir, resume, init_from, fallback)


def fit_config(config: Config, run_dir: Path, resume: bool = False, init_from: str | Path | None = None,
               fallback: bool = False, model: nn.Module | None = None) -> list[dict]:
    """Train config's model (or `model`, an object built in Python) on config's data in run_dir, whose lock the
    caller holds; the part of vaelab train after the config is read (see train_run for the arguments)."""
    group = current_group()
    splits = prepare_data(config)
    dim = splits.train.shape[1]
    torch.manual_seed(config.train.seed)  # the initial weights depend on the seed alone
    architecture = own_architecture(model, config, dim)
    if model is None:
        model = build_model(config, dim)
    else:
        _check_fits(model, splits)
    if init_from is not None:
        if resume:
            raise RunError("--init-from starts a new run; it cannot be combined with --resume")
        path, state = check_checkpoint(Path(init_from) / LAST, config, dim, fallback, architecture)
        load_weights(model, state, path)
    try:
        check_freeze(model, config.train.freeze)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if group.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_text_atomic(run_dir / CONFIG_FILE, dump_config(config))
    if resume and not (run_dir / LAST).exists() and not previous_path(run_dir / LAST).exists():
        resume = False  # killed before the first checkpoint: start from the beginning
    data = TASKS[takes_labels(MODELS[config.model.family])](config, splits, run_dir)
    start = (_resume_state(run_dir, config, dim, fallback, promote=group.main, architecture=architecture)
             if resume else False)
    return fit(model, data, config.train, run_dir, start, model_metadata(config, dim, architecture), hold_lock=False)


def _resume_state(run_dir: Path, config: Config | None, input_dim: int, fallback: bool,
                  promote: bool = True, architecture: str | None = None) -> dict[str, Any]:
    """The checkpoint a resume starts from, checked against the config (when given); after a fallback the
    previous checkpoint takes the damaged one's place (which is kept as checkpoint.pt.damaged)."""
    last = run_dir / LAST
    if config is None:
        path, state = read_checkpoint(last, fallback)
    else:
        path, state = check_checkpoint(last, config, input_dim, fallback, architecture)
    if path != last and promote:
        damaged = promote_previous(last)
        print(f"vaelab: the damaged checkpoint is kept as {damaged}; {last} is now a copy of {path}", file=sys.stderr)
    return state


def train_or_resume(config_path: str | Path, run_dir: str | Path, overrides: list[str] = ()) -> list[dict]:
    """Continue the run in run_dir where it has a checkpoint (with the overrides a resume accepts), else start it.

    For scripts that may be cut and run again (benchmarks, experiments).
    """
    if (Path(run_dir) / LAST).exists():
        kept = [o for o in overrides if o.partition("=")[0].strip() in RESUMABLE_OVERRIDES]
        return train_run(None, run_dir, kept, resume=True)
    return train_run(config_path, run_dir, list(overrides))


def _train_config(config_path: str | Path | dict | Config | None, run_dir: Path, overrides: list[str],
                  resume: bool) -> Config:
    """The config of a new or resumed run, or the one-line error that says why there is none."""
    if resume:
        return _resume_config(run_dir, overrides)
    config = load_config(config_path, overrides)
    if (run_dir / LAST).exists():
        raise RunError(f"{run_dir} already holds a run; continue it with vaelab train --resume {run_dir} or choose another --run-dir")
    return config


def load_run(run_dir: str | Path, checkpoint: str = "best", eval_overrides: list[str] = (), fallback: bool = False,
             model: nn.Module | None = None) -> tuple[Config, nn.Module, Splits, dict]:
    """Rebuild a run's config, data splits and model with the weights of its best or last checkpoint.

    eval_overrides: `eval.KEY=VALUE` settings for this evaluation only (the run's config file is unchanged).
    fallback: where the checkpoint is damaged, read its previous version (best.prev.pt, checkpoint.prev.pt).
    model: the model object to load the weights into, for a run trained with own networks (own_models.py);
    None builds the one config.yaml describes.

    The model is returned in eval mode, its batch-norm statistics recomputed over the training data
    (binarised once with a fixed seed, and z drawn with a fixed seed), as the original LVAE code did before every
    evaluation (DESIGN.md §4).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist; give the --run-dir of a trained run")
    if checkpoint not in ("best", "last"):
        raise RunError(f"--checkpoint must be best or last, got {checkpoint!r}")
    bad = [o for o in eval_overrides if not o.partition("=")[0].strip().startswith("eval.")]
    if bad:
        raise RunError(f"--set {bad[0]}: evaluation may change eval.* settings only")
    config = _run_config(run_dir, list(eval_overrides))
    splits = prepare_data(config)
    architecture = own_architecture(model, config, splits.train.shape[1])
    model = build_model(config, splits.train.shape[1]) if model is None else model
    path = run_dir / (BEST if checkpoint == "best" else LAST)
    if checkpoint == "best" and not path.exists() and not previous_path(path).exists():
        path = run_dir / LAST
    path, state = check_checkpoint(path, config, splits.train.shape[1], fallback, architecture)
    load_weights(model, state, path)
    if has_batchnorm(model):  # seeded: the generative path's statistics depend on the z drawn, so the same
        # checkpoint always gives the same model (and an export the numbers of evaluate); the caller's state is kept
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(TRAIN_BN_SEED)
            recompute_batchnorm(model, fixed_train(splits, config, TRAIN_BN_SEED), config.eval.bn_batch_size)
    model.eval()
    return config, model, splits, state


def _split_tensor(splits: Splits, config: Config, split: str) -> torch.Tensor:
    """The evaluation tensor of a split; train data is binarised (or dequantised) once with a fixed seed, like test."""
    table = {"test": splits.test, "val": splits.val, "train": splits.train}
    if split not in table:
        raise RunError(f"--split must be one of test, val, train; got {split!r}")
    x = fixed_train(splits, config, TRAIN_EVAL_SEED) if split == "train" else table[split]
    if x.shape[0] == 0:
        raise RunError(f"the {split} split is empty; set data.validation > 0 to evaluate on val")
    return x


def _density_scale(config: Config, ll: torch.Tensor, dim: int) -> dict[str, Any]:
    """For real-valued data: the scale of the density and, when dequantised, the discrete log-likelihood bound."""
    if config.data.binarize:
        return {}
    out: dict[str, Any] = {"density": "continuous density of pixel intensities in [0, 1], nats per image "
                                      "(the Balancing-ELBO paper's scale); bits_per_dim is its negative in bits"}
    if config.data.dequantize:
        discrete = float(ll.mean()) - dim * np.log(grey_levels(config.data.name))
        out.update({"log_likelihood_discrete": discrete, "bits_per_dim_discrete": -discrete / (dim * np.log(2.0)),
                    "discrete": "bound on log P(8-bit image): log_likelihood - D log(grey levels)"})
    return out


def _generation_report(run_dir: Path, config: Config, model: nn.Module, splits: Splits, state: dict,
                       checkpoint: str, x: torch.Tensor, k: int, quality: bool, inception: str | None) -> dict[str, Any]:
    """Aggregate-posterior KL and L_K on x (eval.aggregate_posterior) and, if asked, sample quality."""
    agg, out = None, {}
    if config.eval.aggregate_posterior and config.eval.aggregate_components > 0:
        agg = aggregate_posterior(run_dir, config, model, fixed_train(splits, config, TRAIN_EVAL_SEED),
                                  checkpoint, state["epoch"], state.get("sha256"))
        out["aggregate_posterior"] = aggregate_report(agg, config, model, x, k)
    if quality:
        out["sample_quality"] = sample_quality(model, config, agg, inception)
    return out


def evaluate_run(run_dir: str | Path, split: str = "test", iw_samples: int | None = None,
                 checkpoint: str = "best", limit: int | None = None, progress: bool = True,
                 quality: bool = False, inception: str | None = None, overrides: list[str] = (),
                 fallback: bool = False, model: nn.Module | None = None) -> dict[str, Any]:
    """`vaelab evaluate`: ELBO, L_K, KL per layer, active units of one split, KL(aggregate posterior || prior)
    and, with quality, Fréchet distances of prior and aggregate samples; written to eval.json.
    overrides: eval.* settings for this evaluation (e.g. eval.compile=true); fallback, model: see load_run."""
    run_dir = Path(run_dir)
    config, model, splits, state = load_run(run_dir, checkpoint, overrides, fallback, model)
    s = config.eval
    k = iw_samples or s.iw_samples
    x = _split_tensor(splits, config, split)[: limit or None]
    start = time.time()
    if takes_labels(model):  # semi-supervised: error, confusion matrix, bounds with y summed out
        y = {"test": splits.test_labels, "val": splits.val_labels, "train": splits.train_labels}[split]
        grey = classify_inputs(splits, config, split)
        grey = None if grey is None else grey[: limit or None]
        metrics = semi_supervised_metrics(model, x, y[: limit or None], k, s, progress, grey)
        result = {"split": split, "n": int(x.shape[0]), "iw_samples": k, "checkpoint": checkpoint,
                  "epoch": state["epoch"], **checkpoint_position(state), **metrics,
                  "classify_inputs": _classified(splits, grey),
                  "seconds": time.time() - start}
        return _write_eval(run_dir, split, k, result)
    summary = summarise_bounds(model, x, s.batch_size)
    ex = Execution.from_settings(s)  # the L_K pass, the costly part, runs on eval.device
    try:
        ll = log_likelihood(model.to(ex.device), x, k, s.batch_size, s.sample_chunk, progress, ex)
    finally:
        model.cpu()
    dim = x.shape[1]
    result = {
        "split": split, "n": int(x.shape[0]), "iw_samples": k, "checkpoint": checkpoint, "epoch": state["epoch"],
        **checkpoint_position(state), "elbo": float(summary.elbo.mean()), "elbo_se": standard_error(summary.elbo),
        "log_likelihood": float(ll.mean()), "log_likelihood_se": standard_error(ll),
        "bound": f"L_{k} (importance-weighted, K={k}); elbo is L_1 with the analytic KL per layer where the "
                 "pair has one, Monte Carlo otherwise (flow posteriors)",
        "bits_per_dim": -float(ll.mean()) / (dim * np.log(2.0)),
        **_density_scale(config, ll, dim),
        "reconstruction": float(summary.reconstruction.mean()),
        "kl_per_layer": {kname: float(v.mean()) for kname, v in summary.kl_per_layer.items()},
        "kl_per_unit": {kname: v.tolist() for kname, v in summary.kl_per_unit.items()},
        "active_units": active_units(summary.posterior_mean, s.active_threshold),
        # the other common count: units whose KL(q||p), averaged over the data, exceeds the threshold
        "active_units_kl": {kname: int((v > s.active_threshold).sum()) for kname, v in summary.kl_per_unit.items()},
        **_generation_report(run_dir, config, model, splits, state, checkpoint, x, k, quality, inception),
        "seconds": time.time() - start,
    }
    return _write_eval(run_dir, split, k, result)


def _classified(splits: Splits, grey: torch.Tensor | None) -> str:
    """What the classification error read: grey levels, binarised inputs, or the data as stored (real-valued)."""
    return "grey" if grey is not None else "binarised" if splits.binarize else "as stored"


def _write_eval(run_dir: Path, split: str, k: int, result: dict[str, Any]) -> dict[str, Any]:
    """eval.json and eval-<split>-K<k>.json."""
    text = json.dumps(result, indent=2)
    _write_text_atomic(run_dir / EVAL_FILE, text)
    _write_text_atomic(run_dir / f"eval-{split}-K{k}.json", text)
    return result


def _images(x: torch.Tensor, splits: Splits) -> np.ndarray:
    """(N, D) model inputs -> (N, H, W) grey images (dropped inputs restored as 0)."""
    if len(splits.image_shape) != 2:
        raise RunError(f"vaelab sample draws grey images; this data set's examples have shape {splits.image_shape}")
    return restore_inputs(x.detach(), splits.input_mask).reshape(-1, *splits.image_shape).cpu().numpy()


@torch.no_grad()
def _sample_labelled(model: nn.Module, splits: Splits, run_dir: Path, n: int, ncol: int) -> list[Path]:
    """ADGM Fig. 3: samples.png (one column per class, from noise), analogies.png (x, then every class)."""
    classes = model.params.classes
    grid = samples_per_class(model, max(1, n // classes))
    samples = save_grid(_images(grid, splits), run_dir / "samples.png", classes)
    rows = max(1, min(n // (classes + 1), splits.test.shape[0], 10))
    pairs = analogies(model, splits.test[:rows], splits.test_labels[:rows])
    return [samples, save_grid(_images(pairs, splits), run_dir / "analogies.png", classes + 1)]




@torch.no_grad()
def sample_run(run_dir: str | Path, n: int = 100, checkpoint: str = "best", seed: int = 0, source: str = "prior",
               uncertainty: bool = False, fallback: bool = False) -> list[Path]:
    """`vaelab sample`: PNG grids of n samples (means of p(x|z), top latent from the prior or the aggregate-
    posterior mixture) and of reconstructions; with uncertainty, the predicted sigma beside both."""
    if n < 1:
        raise RunError(f"--n must be >= 1, got {n}")
    run_dir = Path(run_dir)
    config, model, splits, state = load_run(run_dir, checkpoint, fallback=fallback)
    if takes_labels(model):  # ADGM Fig. 3: one column per class, and analogies
        if source != "prior" or uncertainty:
            raise RunError("a semi-supervised run samples from its prior only, without uncertainty maps")
        torch.manual_seed(seed)
        return _sample_labelled(model, splits, run_dir, n, int(np.ceil(np.sqrt(n))))
    agg = None
    if source == "aggregate":
        agg = aggregate_posterior(run_dir, config, model, fixed_train(splits, config, TRAIN_EVAL_SEED),
                                  checkpoint, state["epoch"], state.get("sha256"))
    torch.manual_seed(seed)
    ncol = int(np.ceil(np.sqrt(n)))
    suffix = "" if source == "prior" else f"-{source}"
    generated = generate(model, n, source, agg)
    samples = save_grid(_images(generated.mean, splits), run_dir / f"samples{suffix}.png", ncol)
    x = splits.test[: max(1, min(n, splits.test.shape[0]) // 2)]
    recon = model(x).px.mean
    pairs = torch.stack([x, recon], dim=1).reshape(-1, x.shape[1])  # input, reconstruction, input, ...
    ncol_pairs = 2 * max(1, ncol // 2)
    recons = save_grid(_images(pairs, splits), run_dir / "reconstructions.png", ncol_pairs)
    maps = write_uncertainty(run_dir, model, x, generated, splits.image_shape, ncol, suffix) if uncertainty else []
    return [samples, recons, *maps]


def classify_run(run_dir: str | Path, file: str | Path, out: str | Path | None = None, checkpoint: str = "best",
                 samples: int | None = None, fallback: bool = False) -> dict[str, Any]:
    """`vaelab classify`: label the inputs of a .npy file with a semi-supervised run's q(y|a,x)."""
    run_dir, file = Path(run_dir), Path(file)
    config, model, splits, _ = load_run(run_dir, checkpoint, fallback=fallback)
    if not takes_labels(model):
        raise RunError(f"{run_dir} holds a {config.model.family} model, which has no classifier; use a run of "
                       f"m2, adgm or sdgm")
    try:
        array = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{file} cannot be read as a .npy array ({err}); save inputs with numpy.save") from None
    width = splits.input_mask.shape[0] if splits.input_mask is not None else splits.train.shape[1]
    x = select_inputs(array, splits.input_mask, width, str(file))
    if splits.binarize and config.eval.classify_inputs != "grey":  # as the test set: binarised once, fixed seed
        x = binarize_fixed(x, seed=CLASSIFY_SEED)
    probs = class_probabilities(model, x, samples or config.eval.classify_samples)
    labels = probs.argmax(1)
    out = Path(out) if out else file.with_name(file.stem + ".labels.npy")
    np.save(out, labels.numpy())
    probs_path = out.with_name(out.name.removesuffix(".npy").removesuffix(".labels") + ".probs.npy")
    np.save(probs_path, probs.numpy())
    return {"n": int(x.shape[0]), "labels": out, "probs": probs_path,
            "counts": torch.bincount(labels, minlength=probs.shape[1]).tolist(),
            "class_names": list(splits.class_names)}
