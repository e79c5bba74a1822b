"""vaelab compare: every run gets a row (evaluated, not evaluated, unreadable, not a run), grouping, paper numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from vaelab.cli import main
from vaelab.evaluation.comparison import config_value
from vaelab.reports import compare_runs
from vaelab.runs import RunError

EVAL = {"split": "test", "n": 300, "iw_samples": 5000, "elbo": -85.5, "elbo_se": 0.3, "log_likelihood": -82.4,
        "log_likelihood_se": 0.2, "bits_per_dim": 0.15, "reconstruction": -60.0,
        "kl_per_layer": {"z1": 20.0, "z2": 5.5}, "active_units": {"z1": 20, "z2": 7}}


def _run(root: Path, name: str, latent: list[int] | None, experiment: str | None = None,
         evaluation: dict | str | None = None, epochs: int = 3) -> Path:
    folder = root / name
    folder.mkdir()
    model = {"family": "lvae"} if latent is None else {"family": "lvae", "latent": latent}
    (folder / "config.yaml").write_text(yaml.safe_dump(
        {"model": model, "train": {"epochs": 10}, "experiment": experiment}))
    (folder / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e}) + "\n" for e in range(1, epochs + 1)))
    if isinstance(evaluation, dict):
        (folder / "eval.json").write_text(json.dumps(evaluation))
    elif isinstance(evaluation, str):
        (folder / "eval.json").write_text(evaluation)
    return folder


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    return [
        _run(tmp_path, "five", [64, 32, 16, 8, 4], "lvae-fig3/lvae-bn-wu-5layer", EVAL),
        _run(tmp_path, "two-untested", [64, 32]),
        _run(tmp_path, "one-partial", [64], evaluation={"elbo": -90.0, "error": 0.02}, epochs=10),
        _run(tmp_path, "corrupt", [64, 32, 16], "lvae-fig3/vae-3layer", "{oops"),
        tmp_path / "missing-folder",
    ]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_run_gets_a_row_and_missing_values_stay_empty(runs, tmp_path):
    table, path = compare_runs(runs, csv_path=tmp_path / "out.csv")
    rows = {Path(r["run"]).name: r for r in _read_csv(path)}
    assert list(rows) == [p.name for p in runs]  # the order given, nothing skipped
    assert rows["five"]["status"] == "evaluated"
    assert rows["two-untested"]["status"] == "not evaluated (no eval.json)"
    assert rows["corrupt"]["status"] == "eval.json unreadable"
    assert rows["missing-folder"]["status"] == "not a run folder (no config.yaml)"
    assert float(rows["five"]["L_1"]) == -85.5 and float(rows["five"]["KL"]) == 25.5
    assert rows["five"]["active units"] == "20/7" and rows["five"]["epochs"] == "3/10"
    assert rows["one-partial"]["L_1"] == "-90.0" and rows["one-partial"]["L_K"] == ""
    assert float(rows["one-partial"]["error"]) == 0.02  # an eval.json number without its own column
    assert rows["two-untested"]["L_1"] == "" and rows["two-untested"]["epochs"] == "3/10"
    assert len(table.splitlines()) == 2 + len(runs)
    assert "| — |" in table


def test_paper_numbers_sit_in_their_own_columns(runs, tmp_path):
    _, path = compare_runs(runs, csv_path=tmp_path / "out.csv")
    rows = {Path(r["run"]).name: r for r in _read_csv(path)}
    assert float(rows["five"]["paper L_1"]) == -85.23 and float(rows["five"]["paper L_5000"]) == -82.12
    assert rows["five"]["paper source"] == "LVAE Fig. 3 / Table 1"
    assert rows["corrupt"]["paper source"] == "LVAE Fig. 3" and rows["corrupt"]["paper L_1"] == ""
    assert rows["two-untested"]["paper source"] == ""
    assert "paper error (%)" not in rows["five"]  # no run names an experiment with an error rate


def test_by_key_sorts_groups_and_puts_missing_values_last(runs, tmp_path):
    _, path = compare_runs(runs, by="layers", csv_path=tmp_path / "out.csv")
    rows = _read_csv(path)
    assert [r["layers"] for r in rows] == ["1", "2", "3", "5", ""]
    _, path = compare_runs(runs, by="model.latent", csv_path=tmp_path / "out.csv")
    assert [r["model.latent"] for r in _read_csv(path)][:2] == ["64", "64-32"]


def test_config_value_reads_dotted_and_derived_keys():
    config = {"model": {"latent": [8, 4]}, "experiment": None}
    assert config_value(config, "model.latent") == [8, 4]
    assert config_value(config, "layers") == 2
    assert config_value(config, "model.hidden") is None and config_value(None, "layers") is None


def test_compare_cli_prints_markdown_and_writes_csv(runs, tmp_path, capsys):
    out = tmp_path / "table.csv"
    assert main(["compare", *map(str, runs), "--by", "layers", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| run | layers | status |") and f"wrote {out}" in printed
    assert out.is_file()


def test_compare_errors_are_one_line(runs, tmp_path, capsys):
    assert main(["compare", str(runs[0]), "--by", "model.latnt", "--csv", str(tmp_path / "x.csv")]) == 2
    assert "--by model.latnt: no run's config has this key" in capsys.readouterr().err
    with pytest.raises(RunError, match="at least one run folder"):
        compare_runs([])
    (tmp_path / "file").write_text("")
    assert main(["compare", str(runs[0]), "--csv", str(tmp_path / "file" / "x.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
    _, path = compare_runs(runs[:1], csv_path=tmp_path / "new" / "dir" / "out.csv")  # folders are made
    assert path.is_file()
