"""What `vaelab report` and `vaelab compare` do with run folders, composed from evaluation's parts.

report: RUN_DIR/report.html, one self-contained page, and its PNG figures in RUN_DIR/report/. Every
section is drawn from data when that data exists: metrics.jsonl gives the curves and KL maps, eval.json the
numbers, the checkpoint the latent PCA, samples, reconstructions and (for a decoder with a variance)
uncertainty maps. Sites named a... are shown as auxiliary variables, any *error* metric as classification
error, so semi-supervised and auxiliary runs get their figures without this module knowing their models.
compare: a Markdown table and a CSV of many runs' evaluations, with the papers' numbers beside them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import yaml
from torch import nn
from torch.distributions import Independent
from tqdm.auto import tqdm

from vaelab.config import YAML_ERRORS, Config, load_config
from vaelab.data import Splits, restore_inputs
from vaelab.evaluation import analogies, class_rows, sample_latents, save_grid
from vaelab.evaluation import figures
from vaelab.evaluation.comparison import RunSummary, comparison_table, config_value, to_markdown, write_csv
from vaelab.evaluation.references import REFERENCE_METRICS, paper_references
from vaelab.evaluation.report import Image, Section, Table, render_html
from vaelab.files import write_text_atomic
from vaelab.models import takes_labels
from vaelab.runs import CONFIG_FILE, EVAL_FILE, RunError, load_run
from vaelab.train import read_metrics

REPORT_FILE, FIGURE_DIR, METRICS_FILE = "report.html", "report", "metrics.jsonl"
ACTIVE_KL = 0.01  # nats: a unit counts as active over epochs when its KL exceeds this
GRID_WIDTH = 560  # pixels: image grids are scaled up to about this width
UNCERTAINTY_EXAMPLES = 10  # test examples in the uncertainty figure


@dataclass
class ReportContext:
    run_dir: Path
    figure_dir: Path
    records: list[dict[str, Any]]
    evaluation: dict[str, Any] | None
    checkpoint: str
    n_points: int
    n_images: int
    fallback: bool = False  # read the previous checkpoint where the checkpoint is damaged
    config: Config | None = None
    model: nn.Module | None = None
    splits: Splits | None = None

    def figure(self, name: str) -> Path:
        return self.figure_dir / name


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object, or None when the file does not exist; RunError when it cannot be read."""
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except (ValueError, RecursionError):  # bad JSON or encoding, an over-long integer, nesting too deep
        raise RunError(f"{path} is not valid JSON; run vaelab evaluate {path.parent} again") from None
    if not isinstance(value, dict):
        raise RunError(f"{path} does not hold a JSON object; run vaelab evaluate {path.parent} again")
    return value


def _eval_tables(ev: dict[str, Any]) -> list[Table]:
    """The scalar numbers of eval.json, then one row per stochastic layer."""
    scalars = [[k, v] for k, v in ev.items() if not isinstance(v, (dict, list))]
    kl = ev.get("kl_per_layer") or {}
    units = ev.get("kl_per_unit") or {}
    active = ev.get("active_units") or {}
    layers = [[name, len(units.get(name, [])) or "—", kl[name], active.get(name, "—")] for name in kl]
    tables = [Table(["eval.json", "value"], scalars)]
    if layers:
        tables.append(Table(["layer", "units", "KL (nats)", "active units (Cov_x E_q[u] > threshold)"], layers))
    return tables


def _overview(ctx: ReportContext) -> list[Section]:
    last = ctx.records[-1] if ctx.records else {}
    run = Section("Run", [f"Run folder {ctx.run_dir}; {len(ctx.records)} epochs recorded in {METRICS_FILE}"
                          f" (last: epoch {last.get('epoch', '—')}). Model figures use the "
                          f"{ctx.checkpoint} checkpoint."])
    if ctx.evaluation is None:
        run.notes.append(f"Not evaluated yet: run `vaelab evaluate {ctx.run_dir}` for eval.json's numbers.")
    else:
        run.paragraphs.append("Numbers of eval.json (nats per example; higher is better for the bounds):")
        run.tables = _eval_tables(ctx.evaluation)
    text = (ctx.run_dir / CONFIG_FILE).read_text(errors="replace")  # report_run has checked it is a config
    run.paragraphs += _paper_line(yaml.safe_load(text))
    return [run, Section("Configuration", preformatted=text)]


def _paper_line(config: Any) -> list[str]:
    """The paper's numbers for the run's experiment, if its preset names one that has them."""
    experiment = config_value(config if isinstance(config, dict) else None, "experiment")
    ref = paper_references().get(experiment or "")
    if ref is None or not ref.numbers:
        return []
    numbers = ", ".join(f"{REFERENCE_METRICS[m].removeprefix('paper ')} {v:g}" for m, v in ref.numbers.items())
    return [f"Experiment {experiment}; the paper reports ({ref.source}): {numbers}."]


def _error_keys(records: list[dict[str, Any]]) -> list[str]:
    keys = dict.fromkeys(k for r in records for k, v in r.items() if "error" in k and isinstance(v, (int, float)))
    return list(keys)


def _curves(ctx: ReportContext) -> list[Section]:
    if not figures.series(ctx.records, "train_elbo")[0].size:
        return []
    section = Section("Learning curves", [
        "L_1 per epoch on the training data (as trained: fresh binarisation, batch statistics) and on the "
        "held-out validation split (LVAE Fig. 2 plots train and test)."])
    section.images.append(Image(figures.plot_learning_curves(ctx.records, ctx.figure("learning-curves.png")),
                                "Train and validation L_1; the reconstruction and KL terms"))
    section.images.append(Image(figures.plot_training_health(ctx.records, ctx.figure("training.png")),
                                "Warm-up weight, learning rate, gradient norm and skipped steps per epoch"))
    sections = [section]
    errors = _error_keys(ctx.records)
    if errors:
        path = figures.plot_curves(ctx.records, errors, ctx.figure("error.png"), "Classification error", "error")
        sections.append(Section("Classification error", images=[Image(path, "Classification error per epoch")]))
    return sections


def _unit_key(records: list[dict[str, Any]]) -> str | None:
    for key in ("val_kl_per_unit", "train_kl_per_unit"):
        if any(r.get(key) for r in records):
            return key
    return None


def _units(ctx: ReportContext) -> list[Section]:
    key = _unit_key(ctx.records)
    if key is None:
        return []
    section = Section("KL per unit and active units", [
        f"KL(q || p) of every latent unit over epochs ({key}), units sorted by their last value, as in LVAE "
        "Fig. 4: white units carry no information about x."])
    names = list(figures.nested_series(ctx.records, key))
    auxiliary = [n for n in names if n.startswith("a")]
    if auxiliary:
        section.paragraphs.append(f"{', '.join(auxiliary)}: auxiliary variables (their KL as in ADGM Fig. 4a).")
    section.images.append(Image(figures.plot_unit_kl_heatmap(ctx.records, key, ctx.figure("unit-kl.png")),
                                "KL per unit over epochs (LVAE Fig. 4)"))
    section.images.append(Image(figures.plot_active_units(ctx.records, key, ACTIVE_KL, ctx.figure("active-units.png")),
                                f"Units per layer whose KL exceeds {ACTIVE_KL} nats, per epoch; eval.json counts "
                                "active units by another criterion, Cov_x E_q[u] > eval.active_threshold"))
    return [section]


def _layers(ctx: ReportContext) -> list[Section]:
    key = next((k for k in ("val_kl_per_layer", "train_kl_per_layer") if any(r.get(k) for r in ctx.records)), None)
    if ctx.evaluation and ctx.evaluation.get("kl_per_layer"):
        final = ctx.evaluation["kl_per_layer"]
        label = f"eval.json ({ctx.evaluation.get('split', '?')} split)"
    elif key:
        final, label = ctx.records[-1].get(key) or {}, f"last epoch ({key})"
    else:
        return []
    path = figures.plot_kl_per_layer(final, label, ctx.records, key or "", ctx.figure("kl-per-layer.png"))
    return [Section("KL per layer", ["How the KL term is spread over the stochastic layers (LVAE Fig. 5)."],
                    images=[Image(path, "KL per layer")])]


def _load_model(ctx: ReportContext) -> list[Section]:
    """The checkpoint's model, with batch-norm statistics recomputed over the training data (as evaluate does)."""
    ctx.config, ctx.model, ctx.splits, _ = load_run(ctx.run_dir, ctx.checkpoint, fallback=ctx.fallback)
    return []


def _latent_space(ctx: ReportContext) -> list[Section]:
    x, labels = ctx.splits.test[: ctx.n_points], ctx.splits.test_labels[: ctx.n_points]
    torch.manual_seed(0)
    samples = {name: z.numpy() for name, z in sample_latents(ctx.model, x).items()}
    path = figures.plot_latent_pca(samples, labels.numpy(), ctx.figure("latent-pca.png"))
    section = Section("Latent space", [
        f"First two principal components of one sample z ~ q(z_i | .) per test example ({x.shape[0]} examples), "
        "coloured by class (LVAE Fig. 6)."], images=[Image(path, "PCA of latent samples per layer")])
    auxiliary = [n for n in samples if n.startswith("a")]
    if auxiliary:
        section.paragraphs.append(f"{', '.join(auxiliary)}: the auxiliary space (ADGM Figs. 2d, 4b).")
    return [section]


def _grid(images: torch.Tensor, ctx: ReportContext, name: str, ncol: int) -> Path:
    """A PNG grid about GRID_WIDTH pixels wide whatever the image size (8x8 digits and 28x28 MNIST alike).

    Inputs dropped by data.drop_std (ADGM MNIST: 444 of 784 kept) are put back as 0 first."""
    shape = ctx.splits.image_shape
    scale = max(1, GRID_WIDTH // (ncol * (shape[-1] + 1)))
    images = restore_inputs(images.detach(), ctx.splits.input_mask)
    return save_grid(images.reshape(-1, *shape).cpu().numpy(), ctx.figure(name), ncol, scale)


def _decoder_scale(px: torch.distributions.Distribution) -> torch.Tensor | None:
    """The decoder's standard deviation per pixel, (B, D), when p(x|z) has a scale (a Gaussian), else None."""
    base = px.base_dist if isinstance(px, Independent) else px
    return getattr(base, "scale", None)


@torch.no_grad()
def _class_pictures(ctx: ReportContext) -> list[Section]:
    """A model with a label site (M2, ADGM, SDGM): ADGM Fig. 3b from noise, one row per class, and Fig. 3a."""
    if len(ctx.splits.image_shape) < 2:
        return [Section("Class-conditional samples", notes=[
            f"The examples are points of shape {ctx.splits.image_shape}, not images; see the decision boundary "
            "of `vaelab moons` instead."])]
    torch.manual_seed(0)
    classes = ctx.model.params.classes
    per_class = max(1, min(ctx.n_images // classes, 10))
    section = Section("Class-conditional samples", [
        f"Means of p(x | y, z) from noise, one row per class y = 0..{classes - 1}; every column shares one z drawn "
        "from the prior, so along a column only the class changes (ADGM Fig. 3b). Then test inputs, each followed "
        "by p(x | y_j, z) for every class j with z inferred from the input and its label (Fig. 3a)."])
    section.images.append(Image(_grid(class_rows(ctx.model, per_class), ctx, "samples.png", per_class),
                                "One row per class, from noise"))
    rows = max(1, min(per_class, ctx.splits.test.shape[0]))
    pairs = analogies(ctx.model, ctx.splits.test[:rows], ctx.splits.test_labels[:rows])
    section.images.append(Image(_grid(pairs, ctx, "analogies.png", classes + 1),
                                "A test input (first column), then the same z with every class"))
    return [section]


@torch.no_grad()
def _pictures(ctx: ReportContext) -> list[Section]:
    if takes_labels(ctx.model):
        return _class_pictures(ctx)
    torch.manual_seed(0)
    n, ncol = ctx.n_images, int(np.ceil(np.sqrt(ctx.n_images)))
    section = Section("Samples and reconstructions", [
        "Means of p(x | z) for z drawn from the prior, then test inputs each followed by its reconstruction."])
    section.images.append(Image(_grid(ctx.model.generate(n).mean, ctx, "samples.png", ncol), "Samples from the prior"))
    x = ctx.splits.test[: max(1, n // 2)]
    px = ctx.model(x).px
    pairs = torch.stack([x, px.mean], dim=1).reshape(-1, x.shape[1])  # input, reconstruction, ...
    section.images.append(Image(_grid(pairs, ctx, "reconstructions.png", 2 * max(1, ncol // 2)),
                                "Inputs (odd columns) and their reconstructions (even columns)"))
    scale = _decoder_scale(px)
    if scale is not None:
        scale = scale.expand_as(px.mean)
        if float(scale.std()) > 1e-6 * float(scale.mean()):
            k, shape = min(x.shape[0], UNCERTAINTY_EXAMPLES), (-1, *ctx.splits.image_shape)
            path = figures.plot_uncertainty(*(t[:k].reshape(shape).numpy() for t in (x, px.mean, scale)),
                                            ctx.figure("uncertainty.png"))
            section.images.append(Image(path, "Test inputs, the mean and the standard deviation of p(x|z): where "
                                              "the decoder is unsure"))
        else:
            section.paragraphs.append(f"The decoder's standard deviation is one value for every pixel: "
                                      f"{float(scale.mean()):.4g}.")
    return [section]


def _guarded(step: Callable[[ReportContext], list[Section]], ctx: ReportContext, title: str) -> list[Section]:
    """Run a step that needs the model; if it fails, the report says so (and stderr) instead of stopping."""
    if step is not _load_model and ctx.model is None:
        return []
    try:
        return step(ctx)
    except Exception as err:  # noqa: BLE001 - any failure is shown in the report, never swallowed
        message = f"{title} could not be drawn: {type(err).__name__}: {err}"
        print(f"vaelab: warning: {message}", file=sys.stderr)
        return [Section(title, notes=[message])]


def report_run(run_dir: str | Path, checkpoint: str = "best", n_points: int = 2000, n_images: int = 64,
               progress: bool = True, fallback: bool = False) -> Path:
    """`vaelab report`: write RUN_DIR/report.html (self-contained) and its PNGs in RUN_DIR/report/."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunError(f"{run_dir} is not a run folder (no {CONFIG_FILE}); give the --run-dir of a trained run")
    if n_points < 2 or n_images < 1:
        raise RunError(f"--points must be >= 2 and --images >= 1, got {n_points} and {n_images}")
    load_config(run_dir / CONFIG_FILE)  # a damaged config.yaml is a one-line ConfigError, not a report about it
    records = read_metrics(run_dir / METRICS_FILE)
    if not records:
        raise RunError(f"{run_dir} has no {METRICS_FILE} records yet; train it first (vaelab train --resume {run_dir})")
    ctx = ReportContext(run_dir, run_dir / FIGURE_DIR, records, _read_json(run_dir / EVAL_FILE), checkpoint,
                        n_points, n_images, fallback)
    ctx.figure_dir.mkdir(exist_ok=True)
    steps = [("overview", _overview), ("learning curves", _curves), ("KL per unit", _units),
             ("KL per layer", _layers)]
    model_steps = [("model", _load_model, "Model"), ("latent PCA", _latent_space, "Latent space"),
                   ("samples", _pictures, "Samples and reconstructions")]
    sections: list[Section] = []
    with tqdm(total=len(steps) + len(model_steps) + 1, desc="report", unit="step", disable=not progress) as bar:
        for name, step in steps:
            bar.set_postfix_str(name)
            sections += step(ctx)
            bar.update()
        for name, step, title in model_steps:
            bar.set_postfix_str(name)
            sections += _guarded(step, ctx, title)
            bar.update()
        bar.set_postfix_str("HTML")
        path = write_text_atomic(run_dir / REPORT_FILE,
                                 render_html(f"vaelab report: {run_dir.resolve().name}", sections))
        bar.update()
    return path


def summarise_run_folder(path: str | Path) -> RunSummary:
    """What compare shows of a folder: its config and eval.json when readable, and why not otherwise."""
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        return RunSummary(str(path), f"not a run folder (no {CONFIG_FILE})")
    try:
        config = yaml.safe_load((path / CONFIG_FILE).read_bytes())
    except (*YAML_ERRORS, OSError):
        return RunSummary(str(path), f"{CONFIG_FILE} unreadable")
    config = config if isinstance(config, dict) else None
    records = read_metrics(path / METRICS_FILE)
    epochs = records[-1].get("epoch") if records else None
    try:
        evaluation = _read_json(path / EVAL_FILE)
    except RunError:
        return RunSummary(str(path), f"{EVAL_FILE} unreadable", config, None, epochs)
    status = "evaluated" if evaluation is not None else f"not evaluated (no {EVAL_FILE})"
    return RunSummary(str(path), status, config, evaluation, epochs)


def compare_runs(run_dirs: list[str | Path], by: str | None = None,
                 csv_path: str | Path = "compare.csv") -> tuple[str, Path]:
    """`vaelab compare`: (the Markdown table, the CSV file written) of the runs' evaluation numbers."""
    if not run_dirs:
        raise RunError("give at least one run folder to compare")
    runs = [summarise_run_folder(d) for d in run_dirs]
    if by and all(config_value(r.config, by) is None for r in runs):
        raise RunError(f"--by {by}: no run's config has this key; use a dotted key of config.yaml such as "
                       "model.latent or train.warmup_epochs, or layers")
    header, rows = comparison_table(runs, by, paper_references())
    try:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        written = write_csv(header, rows, csv_path)
    except OSError as err:
        raise RunError(f"cannot write {csv_path} ({err.strerror}); give another --csv PATH") from None
    return to_markdown(header, rows), written

