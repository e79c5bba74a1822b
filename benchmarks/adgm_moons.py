"""Half-moons (ADGM section 4.2): the ADGM versus the same model without a, error per epoch.

    python benchmarks/adgm_moons.py [--epochs 10] [--twin-epochs 50] [--threads 1]

Runs `vaelab moons` (configs/adgm/moons.yaml and its twin without a) into benchmarks/runs/moons (resumable),
then writes results/adgm_moons.{json,md} and results/adgm_moons.png (Fig. 2c-d), with two references on the
same test set: k-nearest neighbours trained on all 1e4 training labels (how separable the moons are) and
1-nearest neighbour on the 6 labelled points alone (what the labels give without the unlabelled data).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, label_references, write_results  # noqa: E402

from vaelab.data.moons import MOONS_NOISE  # noqa: E402
from vaelab.experiments.moons import run_moons  # noqa: E402
from vaelab.models.semisupervised import class_probabilities  # noqa: E402
from vaelab.objectives.semisupervised import labelled_bound  # noqa: E402
from vaelab.runs import load_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHECKS = Path(__file__).with_name("adgm_moons_checks.md")  # single runs made by hand, with their commands


@torch.no_grad()
def label_preference(run_dir: Path, n: int = 2000, samples: int = 20) -> dict:
    """Which label the generative model prefers on test points: -L(x, y) (eq. 10) for both labels.

    Returns the fraction of points where -L(x, true y) > -L(x, other y), where it prefers the classifier's
    label, and the classifier's accuracy, so one sees whether the unlabelled bound follows the moons or the
    classifier's own partition.
    """
    config, model, splits, _ = load_run(run_dir, "last")
    x, y = splits.test[:n], splits.test_labels[:n]
    torch.manual_seed(0)
    bound = {c: labelled_bound(model, x, torch.full_like(y, c), samples).bound for c in (0, 1)}
    prefers = (bound[1] > bound[0]).long()  # (n,) the label with the higher -L(x, y)
    predicted = class_probabilities(model, x, config.eval.classify_samples).argmax(1)
    return {"prefers_true_label": float((prefers == y).float().mean()),
            "prefers_classifier_label": float((prefers == predicted).float().mean()),
            "classifier_accuracy": float((predicted == y).float().mean()), "n": n, "samples": samples}


def _curve(summary: dict, epochs: int) -> str:
    adgm, plain = summary["adgm"]["val_error"], summary["no-aux"]["val_error"]
    cell = lambda v, e: f"{100 * v[e]:.1f}" if e < len(v) else ""  # noqa: E731
    return "\n".join(f"| {e + 1} | {cell(adgm, e)} | {cell(plain, e)} |" for e in range(epochs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--twin-epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "runs" / "moons"
    summary = run_moons(ROOT / "configs/adgm/moons.yaml", out,
                        [f"train.epochs={args.epochs}", f"train.threads={args.threads}"], args.twin_epochs)
    shutil.copy(out / "moons.png", RESULTS / "adgm_moons.png")
    ref = label_references(out / "adgm", with_points=True)
    ref["label_preference"] = {name: label_preference(out / name) for name in ("adgm", "no-aux")}
    pref = ref["label_preference"]["adgm"]
    adgm, plain = summary["adgm"], summary["no-aux"]
    points = ", ".join(f"({p[0]:.2f}, {p[1]:.2f}) class {c}" for p, c in zip(ref["labelled_points"], ref["labelled_labels"]))
    md = f"""Two half-moons, 1e4 training points (500 held out for validation), 3 labels per class, a separate 1e4-point
test set, Gaussian noise {MOONS_NOISE}; configs/adgm/moons.yaml (two hidden layers of 100 units, a = z = 10, Adam lr
3e-4, beta = 0.1, batches of 100 unlabelled + the 6 labelled points); the twin without a is M2 with the same
networks. ADGM {args.epochs} epochs, the twin {plain['epochs']} epochs (reduced from the paper's 100+), {args.threads}
thread(s). Labelled points (`labelled_choice: {ref['labelled_choice']}`, seed 0): {points}.

| model | epochs | test error (%) | paper |
| --- | --- | --- | --- |
| ADGM | {adgm['epochs']} | {100 * adgm['test_error']:.2f} ± {100 * adgm['test_error_se']:.2f} | close to 0% within 10 epochs |
| same model without a (M2) | {plain['epochs']} | {100 * plain['test_error']:.2f} ± {100 * plain['test_error_se']:.2f} | converges in more than 100 epochs |
| k-NN (k = 25) on all 9,500 training labels | - | {100 * ref['knn25_all_labels']:.2f} | - |
| 1-NN on the 6 labelled points only | - | {100 * ref['nn1_labelled_points']:.2f} | - |

Noise {MOONS_NOISE}: the paper states only "added Gaussian noise"; the authors' loader used 0.2, at which the moons
overlap (k-NN with all labels: 2.9% on this test set), so 0% is out of reach there; at 0.1 it is not (row 3).
The authors placed the 6 labelled points by hand at the ends and middle of each moon; `spread` places them
reproducibly along each moon (the point nearest each centre of a seeded 3-means per class).

**Not reproduced.** Here neither model reaches the paper's result: both settle on a near-linear boundary
between the labelled points (the figure). A diagnostic on 2000 test points (`label_preference` in the JSON):
the ADGM's generative model gives the higher -L(x, y) (eq. 10) to the true label on
{100 * pref['prefers_true_label']:.1f}% of the points and to the classifier's own label on
{100 * pref['prefers_classifier_label']:.1f}% (classifier accuracy {100 * pref['classifier_accuracy']:.1f}%): p(x | y, z)
has learned to generate each class where q(y|a,x) puts it, so the unlabelled bound U(x) rewards the classifier's
partition rather than the moons. With dim(z) = 10 for 2-D data, z can describe each half of that partition as
well as a moon. Other settings did no better (ADGM, 10 epochs, validation error after epoch 10, single runs made
with `vaelab train configs/adgm/moons.yaml --set ...` while choosing the settings): lr 1e-3 beta 0.1: 10.8%;
lr 1e-3 beta 1: 12.8%; lr 1e-3 beta 0.01: 11.0%; lr 3e-4 beta 0.1 (the preset): 11.0%; the preset with
dim(z) = 2: 10.6%; the preset with `data.labelled_choice=random`: 7.6%. So the paper's settings that we follow do
not explain the gap; what the authors did differently is not in the paper.

{CHECKS.read_text().strip()}

Validation error per epoch (%):

| epoch | ADGM | without a |
| --- | --- | --- |
{_curve(summary, max(adgm['epochs'], plain['epochs']))}

![moons](adgm_moons.png)
"""
    payload = {"epochs": args.epochs, "twin_epochs": plain["epochs"], "noise": MOONS_NOISE, "references": ref, **summary}
    print(write_results("adgm_moons", payload, md).read_text())


if __name__ == "__main__":
    main()
