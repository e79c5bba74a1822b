"""The wheel: built from the sources, installed outside the checkout, `vaelab presets` and the demo run there.

Offline: the wheel is built without build isolation (setuptools of the dev extra) and installed with --no-deps
--no-index into a fresh venv, which reaches the running environment's packages (torch, numpy, ...) through a
.pth file listing its site-packages. Lines of a .pth file only extend sys.path, so the checkout's editable
install (itself a .pth or finder in those site-packages) stays inactive there: vaelab comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (the checkout is left untouched)."""
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools (the dev extra has it)")
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", tmp / "dist", source], tmp)
    (built,) = (tmp / "dist").glob("vaelab-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed and the running environment's packages."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], env_dir.parent)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         env_dir.parent)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env_dir).strip())
    outer = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})  # site-packages, never src/
    (site / "outer-environment.pth").write_text("\n".join(outer) + "\n")
    return env_dir


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def test_the_wheel_holds_the_presets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "vaelab/presets/demo.yaml" in names and "vaelab/presets/lvae/mnist-5layer.yaml" in names
    presets = [n for n in names if n.startswith("vaelab/presets/") and n.endswith(".yaml")]
    assert len(presets) == len(list((ROOT / "src" / "vaelab" / "presets").rglob("*.yaml")))


def test_installed_vaelab_lists_presets_and_trains_the_demo_elsewhere(venv, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([venv / "bin" / "python", "-c", "import vaelab; print(vaelab.__file__)"], elsewhere, _env())
    assert Path(where.strip()).resolve().is_relative_to(venv.resolve()), where  # the wheel, not the checkout
    listing = _run([venv / "bin" / "vaelab", "presets"], elsewhere, _env())
    assert any(line.startswith("demo ") for line in listing.splitlines()) and "lvae/mnist-5layer " in listing
    out = _run([venv / "bin" / "vaelab", "train", "demo", "--run-dir", "run", "--set", "train.epochs=1",
                "--set", "train.progress=false"], elsewhere, _env())
    assert "epoch 1: train ELBO" in out
    assert (elsewhere / "run" / "checkpoint.pt").is_file() and (elsewhere / "run" / "config.yaml").is_file()
