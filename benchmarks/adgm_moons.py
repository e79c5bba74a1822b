"""Half-moons (ADGM section 4.2): the ADGM versus the same model without a, error per epoch, reduced schedule.

    python benchmarks/adgm_moons.py [--epochs 15] [--threads 1]

Runs `vaelab moons` (configs/adgm/moons.yaml and its twin without a) into benchmarks/runs/moons (resumable),
then writes results/adgm_moons.{json,md} and results/adgm_moons.png (Fig. 2c-d).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results  # noqa: E402

from vaelab.experiments.moons import run_moons  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "runs" / "moons"
    summary = run_moons(ROOT / "configs/adgm/moons.yaml", out, [f"train.epochs={args.epochs}",
                                                                 f"train.threads={args.threads}"])
    shutil.copy(out / "moons.png", RESULTS / "adgm_moons.png")
    adgm, plain = summary["adgm"], summary["no-aux"]
    rows = "\n".join(f"| {e + 1} | {100 * adgm['val_error'][e]:.1f} | {100 * plain['val_error'][e]:.1f} |"
                     for e in range(len(adgm["val_error"])))
    md = f"""Two half-moons, 1e4 training points (500 held out for validation), 3 labels per class, a separate 1e4-point
test set, noise 0.2; configs/adgm/moons.yaml (two hidden layers of 100 units, a = z = 10, Adam 1e-3, batches of
100 unlabelled + the 6 labelled points); the twin without a is M2 with the same networks. {args.epochs} epochs
each (reduced schedule), {args.threads} thread(s).

| model | test error after {args.epochs} epochs (%) | paper |
| --- | --- | --- |
| ADGM | {100 * adgm['test_error']:.2f} ± {100 * adgm['test_error_se']:.2f} | close to 0% within 10 epochs |
| same model without a (M2) | {100 * plain['test_error']:.2f} ± {100 * plain['test_error_se']:.2f} | needs more than 100 epochs |

For scale: k-nearest neighbours (k = 25) trained on all 10,000 labels of the training set gets 2.9% on
this test set (the moons overlap at noise 0.2), so 0% is not reachable here; the paper's noise level is not stated
(its code used 0.2) and its 6 labelled points were placed by hand, ours are drawn at random (seed 0), and one of them
(class 0 at about (0.85, -0.07)) lies inside the other moon.

Validation error per epoch (%):

| epoch | ADGM | without a |
| --- | --- | --- |
{rows}

![moons](adgm_moons.png)
"""
    print(write_results("adgm_moons", {"epochs": args.epochs, **summary}, md).read_text())


if __name__ == "__main__":
    main()
