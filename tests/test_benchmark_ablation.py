"""benchmarks/mnist100_ablation.py: a row recorded in its results file whose run folder is gone is not retrained."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _ablation(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("mnist100_ablation", BENCHMARKS / "mnist100_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "results")
    return module


def test_recorded_rows_are_kept_and_only_the_others_train(monkeypatch, tmp_path, capsys):
    ablation = _ablation(monkeypatch, tmp_path)
    (tmp_path / "results").mkdir()
    recorded = {"epoch": 20, "rows": [
        {"slug": "adgm", "test_error_per_epoch": {str(e): 30.0 - e / 2 for e in range(1, 21)}, "test_error_se": 0.4},
        {"slug": "m2", "test_error_per_epoch": {"1": 28.0, "2": 27.0}}]}  # recorded, but short of epoch 20
    (tmp_path / "results" / "mnist100_ablation.json").write_text(json.dumps(recorded))
    trained = []
    monkeypatch.setattr(ablation, "train_config", lambda config, run, *rest: trained.append(run.name))
    ablation.train(argparse.Namespace(only=["adgm", "m2", "sdgm"], epochs=20, threads=1, data="unused"))
    assert trained == ["m2", "sdgm"]
    assert "adgm: epoch 20 is recorded" in capsys.readouterr().out
    errors = ablation._errors("adgm")
    assert sorted(errors) == list(range(1, 21)) and errors[20]["error"] == 0.2 and errors[20]["error_se"] == 0.004


def test_a_run_folder_short_of_the_record_does_not_hide_it(monkeypatch, tmp_path):
    ablation = _ablation(monkeypatch, tmp_path)
    (tmp_path / "results").mkdir()
    recorded = {"epoch": 20, "rows": [{"slug": "adgm", "test_error_per_epoch": {str(e): 20.0 for e in range(1, 21)}}]}
    (tmp_path / "results" / "mnist100_ablation.json").write_text(json.dumps(recorded))
    run = tmp_path / "runs" / "adgm"
    run.mkdir(parents=True)
    (run / ablation.TEST_LOG).write_text(json.dumps({"epoch": 1, "error": 0.27}) + "\n")  # begun again
    assert max(ablation._errors("adgm")) == 20
    (run / ablation.TEST_LOG).write_text("".join(json.dumps({"epoch": e, "error": 0.1}) + "\n" for e in range(1, 22)))
    assert max(ablation._errors("adgm")) == 21 and ablation._errors("adgm")[21]["error"] == 0.1

