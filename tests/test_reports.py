"""vaelab report: figures from a tiny digits run, the page in a real browser, data-driven sections, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.image
import pytest
import torch
import yaml

from browser import find_chromium, inspect_page
from vaelab.cli import main
from vaelab.evaluation import class_rows
from vaelab.models import MODELS
from vaelab.reports import FIGURE_DIR, REPORT_FILE, report_run
from vaelab.runs import RunError, evaluate_run, train_run

TINY = {
    "experiment": "lvae-fig3/lvae-bn-wu-2layer",
    "data": {"name": "digits", "validation": 100},
    "model": {"family": "lvae", "latent": [4, 2], "hidden": [16, 8]},
    "train": {"epochs": 2, "batch_size": 128, "warmup_epochs": 1, "progress": False, "threads": 1},
    "eval": {"iw_samples": 5},
}
FIGURES = ["learning-curves.png", "training.png", "unit-kl.png", "active-units.png", "kl-per-layer.png",
           "latent-pca.png", "samples.png", "reconstructions.png"]


def tiny_run(folder: Path, overrides: dict | None = None, evaluate: bool = True) -> Path:
    """Train a 2-layer Ladder VAE on digits for 2 epochs (a few seconds) and evaluate it with K=5."""
    config = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
    for section, values in (overrides or {}).items():
        config[section].update(values)
    folder.mkdir(parents=True)
    (folder / "tiny.yaml").write_text(yaml.safe_dump(config))
    run_dir = folder / "run"
    train_run(str(folder / "tiny.yaml"), run_dir)
    if evaluate:
        evaluate_run(run_dir, iw_samples=5, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    run_dir = tiny_run(tmp_path_factory.mktemp("report") / "tiny")
    report_run(run_dir, n_points=200, n_images=16, progress=False)
    return run_dir


def test_report_draws_every_figure_of_a_tiny_run(reported):
    for name in FIGURES:
        image = matplotlib.image.imread(reported / FIGURE_DIR / name)
        assert image.shape[0] > 20 and image.shape[1] > 20, name
        assert image[..., :3].std() > 0.01, f"{name} is blank"
    page = (reported / REPORT_FILE).read_text()
    for title in ("Run", "Configuration", "Learning curves", "KL per unit and active units", "KL per layer",
                  "Latent space", "Samples and reconstructions"):
        assert f"<h2>{title}</h2>" in page
    assert "could not be drawn" not in page and "Not evaluated yet" not in page
    assert page.count('<img src="data:image/png;base64,') == len(FIGURES)
    assert "Classification error" not in page and "auxiliary" not in page  # no such data in this run
    assert "Experiment lvae-fig3/lvae-bn-wu-2layer" not in page  # Fig. 3 gives no number for 2 layers


def test_report_page_makes_no_request_in_source(reported):
    page = (reported / REPORT_FILE).read_text()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    assert "<script" not in page and "<link" not in page and "url(" not in page


def test_report_in_headless_chromium_loads_every_image_and_no_network(reported, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run does this)")
    page = reported / REPORT_FILE
    result = inspect_page(chromium, page, tmp_path / "profile")
    assert len(result["images"]) == len(FIGURES)
    assert all(i["complete"] and i["width"] > 0 for i in result["images"]), result["images"]
    others = [u for u in result["requests"] if u != page.resolve().as_uri() and not u.startswith("data:")]
    assert others == []


def test_browser_check_sees_a_broken_image_and_a_network_request(tmp_path):
    """The check above can fail: a page with a remote image and a corrupt one is caught on both counts."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run does this)")
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png" alt="remote">'
                    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="corrupt"></body></html>')
    result = inspect_page(chromium, page, tmp_path / "profile")
    assert [i["width"] for i in result["images"]] == [0, 0]
    assert "http://127.0.0.1:9/x.png" in result["requests"]


def _fake_run(folder: Path, records: list[dict], experiment: str | None = None) -> Path:
    """A run folder with a config and metrics but no checkpoint: only the metrics-driven sections can be drawn."""
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump({**TINY, "experiment": experiment}))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_report_sections_follow_the_data(tmp_path, capsys):
    """Auxiliary sites (a...) and an error metric get their sections; a missing checkpoint is said, not hidden."""
    records = [{"epoch": e, "beta": 1.0, "lr": 1e-3, "train_elbo": -90.0 + e, "val_elbo": -91.0 + e,
                "val_error": 0.5 / e, "grad_norm": 1.0, "skipped_steps": 0,
                "val_kl_per_layer": {"z1": 2.0, "a1": 1.0},
                "val_kl_per_unit": {"z1": [1.5, 0.5, 0.0], "a1": [1.0, 0.0]}} for e in range(1, 4)]
    run_dir = _fake_run(tmp_path / "aux", records, experiment="adgm-table2/mnist-100-adgm")
    page = report_run(run_dir, progress=False).read_text()
    assert "<h2>Classification error</h2>" in page and (run_dir / FIGURE_DIR / "error.png").is_file()
    assert "a1: auxiliary variables" in page
    assert "the paper reports (ADGM Table 2): error (%) 0.96." in page
    assert "Not evaluated yet" in page
    assert "Model could not be drawn: CheckpointError" in page
    assert "could not be drawn" in capsys.readouterr().err


def test_report_shows_uncertainty_for_a_decoder_with_a_variance(tmp_path):
    run_dir = tiny_run(tmp_path / "gauss", {"data": {"binarize": False}, "model": {"observation": "gaussian"}},
                       evaluate=False)
    page = report_run(run_dir, n_points=100, n_images=9, progress=False).read_text()
    assert (run_dir / FIGURE_DIR / "uncertainty.png").is_file()
    assert "standard deviation of p(x|z)" in page


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    run_dir = _fake_run(tmp_path / "empty", [])
    assert main(["report", str(run_dir)]) == 2
    assert "no metrics.jsonl records yet" in capsys.readouterr().err
    (run_dir / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "train_elbo": -1.0}) + "\n")
    (run_dir / "eval.json").write_text("{not json")
    assert main(["report", str(run_dir)]) == 2
    assert "eval.json is not valid JSON" in capsys.readouterr().err
    with pytest.raises(RunError, match="--points"):
        report_run(run_dir, n_points=1)


def test_report_draws_class_conditional_samples_of_a_semi_supervised_run(tmp_path, capsys):
    """M2 / ADGM / SDGM: one row per class from noise (ADGM Fig. 3b) and analogies (Fig. 3a), no warning."""
    folder = tmp_path / "ssl"
    folder.mkdir()
    config = {"data": {"name": "digits", "validation": 50, "labelled_per_class": 2, "drop_std": 0.1},
              "model": {"family": "adgm", "classes": 10, "latent": 4, "auxiliary": 4, "hidden": [16]},
              "train": {"epochs": 1, "batch_size": 200, "progress": False, "threads": 1},
              "eval": {"classify_samples": 1}}
    (folder / "c.yaml").write_text(yaml.safe_dump(config))
    run_dir = folder / "run"
    train_run(str(folder / "c.yaml"), run_dir)
    page = report_run(run_dir, n_points=100, n_images=30, progress=False).read_text()
    assert "could not be drawn" not in page and "could not be drawn" not in capsys.readouterr().err
    assert "<h2>Class-conditional samples</h2>" in page and "one row per class" in page
    samples = matplotlib.image.imread(run_dir / FIGURE_DIR / "samples.png")
    analogy = matplotlib.image.imread(run_dir / FIGURE_DIR / "analogies.png")
    s = samples.shape[1] // 28  # 3 columns of 8x8 digits with 1-pixel borders: 28 pixels before scaling
    assert samples.shape[:2] == (91 * s, 28 * s) and samples[..., :3].std() > 0.01  # ten rows, one per class
    a = analogy.shape[1] // 100  # 3 test inputs, each then 10 classes: 11 columns
    assert analogy.shape[:2] == (28 * a, 100 * a)


def test_class_rows_share_one_z_per_column():
    model = MODELS["adgm"](6, MODELS["adgm"].Params(classes=3, latent=2, auxiliary=2, hidden=(8,)))
    torch.manual_seed(4)
    rows = class_rows(model, 5)
    torch.manual_seed(4)
    z = torch.randn(5, 2)
    for c in range(3):
        assert torch.allclose(rows[5 * c: 5 * c + 5], model.decode(z, torch.full((5,), c)).mean)
