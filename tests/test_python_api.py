"""The top-level Python API: cheap to import, the right objects behind each name, and the guide's examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vaelab
from vaelab.evaluation import log_likelihood

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guides" / "python-api.md"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_import_vaelab_does_not_import_torch():
    code = "import sys, vaelab; assert 'torch' not in sys.modules; print(sorted(vaelab.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "load_pretrained" in out and "train" in out


def test_names_stay_functions_after_their_namesake_subpackages_are_imported():
    import vaelab.api
    import vaelab.pretrained
    import vaelab.runs
    from vaelab.train import fit  # the subpackage vaelab.train is imported by name, as before

    assert callable(fit)
    assert vaelab.train is vaelab.api.train and vaelab.load_run is vaelab.api.load_run
    assert vaelab.export is vaelab.pretrained.export_run and vaelab.evaluate is vaelab.runs.evaluate_run
    assert sys.modules["vaelab.train"].fit is fit
    with pytest.raises(AttributeError):
        vaelab.no_such_name


def test_the_guide_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = _python_blocks(GUIDE)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    out = capsys.readouterr().out
    assert re.search(r"epoch 3: validation ELBO -\d+\.\d\d", out) and re.search(r"L_20 = -\d+\.\d\d ±", out)
    run, model = namespace["run"], namespace["model"]
    assert run.epoch <= 3 and len(run.metrics) == 3 and run.evaluation is None  # read before evaluate ran
    x = run.splits.test[:50]
    torch.manual_seed(0)
    a = log_likelihood(run.model, x, 5)
    torch.manual_seed(0)
    assert torch.equal(a, log_likelihood(model, x, 5))
    assert (tmp_path / "runs" / "tiny-vae" / "best.pt").is_file()
    assert (tmp_path / "exported" / "demo" / "model.safetensors").is_file()


def test_train_accepts_a_config_object_and_a_resume(tmp_path):
    config = vaelab.load_config("demo", ["model.latent=[4]", "model.hidden=[16]", "train.epochs=1",
                                         "train.progress=false"])
    assert len(vaelab.train(config, tmp_path / "run")) == 1
    more = vaelab.train(None, tmp_path / "run", ["train.epochs=2"], resume=True)
    assert [r["epoch"] for r in more] == [2]
    with pytest.raises(vaelab.runs.RunError, match="keeps its own config"):
        vaelab.train(config, tmp_path / "run", resume=True)
