"""Benchmark: what the floor of the per-pixel decoder variance does to the log-likelihood (model.pixel_var_floor).

A Gaussian with variance v on a pixel whose value the mean predicts exactly has log-density -0.5 log(2 pi v):
on the exactly-zero background pixels of (non-dequantised) Fashion-MNIST and MNIST a per-pixel variance that
may collapse adds density without modelling anything. This script
  1. counts the exactly-zero pixel values of each test set (and of its first 500 images, the paper's protocol);
  2. gives the curve of nats per image that a collapse to v on those pixels adds over the global model,
     n0 x 0.5 log(sigma*^2 / v), and the v at which the paper's gains (1145 -> 5708, 1307 -> 6037) lie;
  3. splits log p(x|z) of every two-stage run of benchmarks/balancing_elbo_length.py into zero and non-zero
     pixels (first 500 test images, one z ~ q(z|x)), with the predicted variance on the zero pixels.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/balancing_elbo_floor.py

It trains nothing: the runs come from balancing_elbo_length.py (its command is in the results file).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancing_elbo_length import NAME as LENGTH, existing_runs, fmt  # noqa: E402
from common import run_script, write_results  # noqa: E402

from vaelab.data import load_dataset  # noqa: E402
from vaelab.data.dequantize import GREY_LEVELS  # noqa: E402
from vaelab.runs import load_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
N_TEST = 500  # the paper's protocol: the first 500 test images
# the paper's Table 3 (L_20, prior): closed-form global -> two-stage per-pixel
PAPER_GAIN = {"fashion-mnist": (1145, 5708), "mnist": (1307, 6037)}
# sigma*^2 where no closed-form run of balancing_elbo_length.py exists: the closed-form global sigma^2 after
# 10 epochs in balancing_elbo.md and balancing_elbo_mnist.md
SIGMA2_10_EPOCHS = {"fashion-mnist": 0.01165, "mnist": 0.01040}
CURVE_V = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14]


def zero_pixels(name: str) -> dict:
    """How many pixel values of the test set are exactly 0 (and exactly 1)."""
    x = torch.as_tensor(load_dataset(name).x_test)  # (M, D) in [0, 1], as stored
    first = x[:N_TEST]
    return {"test_images": int(x.shape[0]), "pixels": int(x.shape[1]),
            "zero_fraction_test": float((x == 0).float().mean()),
            "zero_per_image_first_500": float((first == 0).float().sum(1).mean()),
            "max_fraction_test": float((x == x.max()).float().mean()),
            "pixels_zero_in_every_test_image": int((x == 0).all(0).sum())}


def added_nats(n0: float, sigma2: float, v: float) -> float:
    """n0 x 0.5 log(sigma2 / v): what zero pixels predicted exactly add when their variance goes from the
    global sigma2 to v (-0.5 log(2 pi v) each, against -0.5 log(2 pi sigma2) under the global model)."""
    return n0 * 0.5 * math.log(sigma2 / v)


def variance_for_gain(n0: float, sigma2: float, gain: float) -> float:
    """The v at which added_nats(n0, sigma2, v) = gain."""
    return sigma2 * math.exp(-2.0 * gain / n0)


@torch.no_grad()
def pixel_split(folder: Path) -> dict:
    """log p(x|z) of the first 500 test images split into pixels stored as 0 and the rest, per image, with the
    predicted variance on the zero pixels (one z ~ q(z|x), seed 0)."""
    config, model, splits, _ = load_run(folder, "best")
    x = splits.test[:N_TEST]
    levels = GREY_LEVELS[config.data.name]
    zero = x * levels < 1  # stored grey level 0 (dequantised: (0 + u) / levels < 1 / levels)
    torch.manual_seed(0)
    px = model(x).px
    log_p, var = px.base_dist.log_prob(x), px.variance  # (N, D)
    floor = getattr(model.generative.observation, "lower_bound", None)  # None: the closed-form global head
    return {"zero_pixels_per_image": float(zero.float().sum(1).mean()),
            "log_px_zero_pixels": float((log_p * zero).sum(1).mean()),
            "log_px_other_pixels": float((log_p * ~zero).sum(1).mean()),
            "log_px_per_zero_pixel": float(log_p[zero].mean()),
            "median_variance_zero_pixels": float(var[zero].median()),
            "median_variance_other_pixels": float(var[~zero].median()),
            "floor_value": floor,
            "zero_pixels_at_floor": None if floor is None else float((var[zero] <= 1.01 * floor).float().mean())}


def main() -> None:
    torch.set_num_threads(1)
    length = json.loads((RESULTS / f"{LENGTH}.json").read_text())
    rows = {r["run_dir"]: r for r in length["rows"]}
    counts = {name: zero_pixels(name) for name in PAPER_GAIN}
    runs = []
    for folder, about in existing_runs():
        key = str(folder.relative_to(Path(__file__).resolve().parents[1]))
        if key in rows and about["decoder"] in ("two-stage per-pixel", "closed-form global"):
            runs.append({**{k: rows[key][k] for k in ("dataset", "decoder", "floor", "dequantize", "epochs",
                                                      "stage_switch_epoch", "sigma2", "ELBO", "L20", "L5000",
                                                      "L5000_n", "run_dir")}, **pixel_split(folder)})
    curve, at_paper = curve_table(counts, runs)
    figures = {"length_command": length["command"], "zero_pixels": counts, "curve": curve,
               "paper_gain_at": at_paper, "runs": runs,
               "dequantised_cap": {name: c["pixels"] * math.log(256) for name, c in counts.items()}}
    write_results("balancing_elbo_floor", figures, markdown(figures))


def curve_table(counts: dict, runs: list[dict]) -> tuple[list[dict], dict]:
    """added_nats over CURVE_V for each data set (sigma*^2: our closed-form global run's, else
    SIGMA2_10_EPOCHS), and
    the variance that gives the paper's gain."""
    curve, at_paper = [], {}
    for name, c in counts.items():
        glob = [r["sigma2"] for r in runs if r["dataset"] == name and r["decoder"] == "closed-form global"
                and not r["dequantize"]]
        sigma2 = glob[0] if glob else SIGMA2_10_EPOCHS[name]
        n0 = c["zero_per_image_first_500"]
        curve += [{"dataset": name, "sigma2": sigma2, "n0": n0, "v": v, "added_nats": added_nats(n0, sigma2, v)}
                  for v in CURVE_V]
        gain = PAPER_GAIN[name][1] - PAPER_GAIN[name][0]
        at_paper[name] = {"gain": gain, "sigma2": sigma2, "n0": n0, "nats_per_zero_pixel": gain / n0,
                          "v": variance_for_gain(n0, sigma2, gain)}
    return curve, at_paper


def markdown(f: dict) -> str:
    lines = ["Zero pixels (stored grey level 0) of each test set:", "",
             "| data | fraction of test pixel values = 0 | zero pixels per image (first 500) | pixels 0 in every "
             "test image | D log 256 (cap of any density of dequantised data) |", "|---|---|---|---|---|"]
    for name, c in f["zero_pixels"].items():
        lines.append(f"| {name} | {c['zero_fraction_test']:.4f} | {c['zero_per_image_first_500']:.1f} | "
                     f"{c['pixels_zero_in_every_test_image']} | {f['dequantised_cap'][name]:.0f} |")
    lines += ["", "Nats per image added over the global model when the n0 zero pixels of an image are predicted "
              "exactly and their variance falls from sigma*^2 to v: n0 x 0.5 log(sigma*^2 / v).", "",
              "| data | sigma*^2 | n0 | " + " | ".join(f"v = {v:g}" for v in CURVE_V) + " |",
              "|---|---|---|" + "---|" * len(CURVE_V)]
    for name in f["zero_pixels"]:
        pts = [c for c in f["curve"] if c["dataset"] == name]
        lines.append(f"| {name} | {pts[0]['sigma2']:.4g} | {pts[0]['n0']:.1f} | "
                     + " | ".join(f"{c['added_nats']:.0f}" for c in pts) + " |")
    lines += ["", "Where the paper's gains lie on that curve:", ""]
    for name, p in f["paper_gain_at"].items():
        lines.append(f"- {name}: {PAPER_GAIN[name][0]} -> {PAPER_GAIN[name][1]} is +{p['gain']} nats, "
                     f"{p['nats_per_zero_pixel']:.2f} nats per zero pixel, reached at v = {p['v']:.2g} "
                     f"(with sigma*^2 = {p['sigma2']:.4g}).")
    lines += ["", "Measured runs of balancing_elbo_length.py (its last command: "
              f"`{f['length_command']}`; the commands of every row are in docs/papers/balancing-elbo.md); "
              "log p(x|z) split over the first 500 test images, one z ~ q(z|x):", "",
              "| data | decoder | floor | epochs | switch | floor value | L_20 | L_5000 (n) | log p(x\\|z) on zero "
              "pixels | on other pixels | per zero pixel | median var. zero pixels | share of zero pixels at the floor |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in f["runs"]:
        at = "–" if r["zero_pixels_at_floor"] is None else f"{r['zero_pixels_at_floor']:.2f}"
        floor = "–" if r["floor_value"] is None else f"{r['floor_value']:.3g}"
        lines.append(f"| {r['dataset']}{' (deq.)' if r['dequantize'] else ''} | {r['decoder']} | "
                     f"{r['floor'] or '–'} | {r['epochs']} | {r['stage_switch_epoch'] or '–'} | {floor} | "
                     f"{fmt(r['L20'])} | {fmt(r['L5000'])} ({r['L5000_n']}) | {fmt(r['log_px_zero_pixels'])} | "
                     f"{fmt(r['log_px_other_pixels'])} | {r['log_px_per_zero_pixel']:.2f} | "
                     f"{r['median_variance_zero_pixels']:.3g} | {at} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_script(main)
