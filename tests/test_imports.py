"""The import direction of DESIGN.md §2: files <- distributions <- layers <- models <- objectives <- execution <- {train, evaluation}
<- config <- runs <- experiments <- cli; data imports nothing else of the package. Inside runs/ its parts import
one way too: folder <- building <- loading <- {training, evaluation, sampling, classification}."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vaelab"
LEVEL = {"files": -1, "distributions": 0, "layers": 1, "models": 2, "objectives": 3, "execution": 3.5, "train": 4, "evaluation": 4,
         "config": 5, "generation": 5.5, "runs": 6, "experiments": 7, "cli": 8,
         "reports": 6.5, "own_models": 6.5, "pretrained": 6.6, "api": 6.8,  # these and experiments compose runs
         "presets": -1}  # the shipped YAML presets, found by name: imports nothing else of the package
RUN_PARTS = {"folder": 0, "building": 1, "loading": 2, "training": 3, "evaluation": 3, "sampling": 3,
             "classification": 3}  # the modules of vaelab/runs/; __init__.py re-exports them all


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vaelab."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vaelab."):
                    yield alias.name.split(".")[1]


def test_imports_run_one_way():
    problems = []
    for path in SRC.rglob("*.py"):
        part = path.relative_to(SRC).parts[0].removesuffix(".py")
        for target in _imports(path):
            if part == "data":
                if target != "data":
                    problems.append(f"{path}: data imports vaelab.{target}")
            elif part in LEVEL and target in LEVEL and target != part:
                if LEVEL[target] > LEVEL[part] or (LEVEL[target] == LEVEL[part]):
                    problems.append(f"{path}: {part} imports {target}")
    assert not problems, problems


def test_the_parts_of_runs_import_one_way():
    problems = []
    for path in (SRC / "runs").glob("*.py"):
        if path.name == "__init__.py":
            continue
        part = path.stem
        if part not in RUN_PARTS:
            problems.append(f"{path}: not placed in RUN_PARTS")
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vaelab.runs"):
                target = node.module.split(".")[2] if node.module.count(".") >= 2 else "__init__"
                if RUN_PARTS.get(target, 99) >= RUN_PARTS[part]:
                    problems.append(f"{path}: {part} imports runs.{target}")
    assert not problems, problems
