"""Benchmark: how well can anything with a 16-d code reconstruct Fashion-MNIST, against what the paper's L_20 needs.

With the closed-form global variance, the decoder's variance is the mean squared error per pixel, mse, and the
expected reconstruction term is -D/2 (log(2 pi mse) + 1). A test L_20 of L therefore needs
    mse <= exp(-2 (L + KL - gap) / D - 1) / (2 pi)
with KL the test KL(q(z|x) || p(z)) and gap = L_20 - ELBO; with KL = gap = 0 it is the loosest bound any model
with that decoder must meet. This script sets that bound beside the test mse of what a 16-d code can do without a
prior at all:
  1. PCA with 16 components (the best linear code);
  2. deterministic autoencoders (no noise, no KL) with the VAE's MLPs (two hidden layers of W units, leaky ReLU,
     784-W-W-16-W-W-784), trained with Adam lr 1e-3, batch 128, on mse, for --epochs epochs, W in --widths;
and the mse of the closed-form runs of balancing_elbo_length.py where they exist. A deterministic code bounds
from below the mse of a VAE of the same architecture (whose code is noisy and paid for in KL), so where it stays
above the bound, the paper's number cannot come from that architecture.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/balancing_elbo_reconstruction.py [--epochs 50] [--widths 512 1024]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from sklearn.decomposition import PCA
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancing_elbo import PAPER, GLOBAL  # noqa: E402
from balancing_elbo_length import NAME as LENGTH  # noqa: E402
from common import RESULTS, run_script, write_results  # noqa: E402

from vaelab.data import load_dataset  # noqa: E402

D, LATENT = 784, 16


def needed_mse(ll: float, kl: float = 0.0, gap: float = 0.0) -> float:
    """The largest mse per pixel at which a closed-form global Gaussian decoder reaches test L_20 = ll."""
    return math.exp(-2 * (ll + kl - gap) / D - 1) / (2 * math.pi)


def autoencoder(width: int) -> nn.Module:
    act = nn.LeakyReLU
    return nn.Sequential(nn.Linear(D, width), act(), nn.Linear(width, width), act(), nn.Linear(width, LATENT),
                         nn.Linear(LATENT, width), act(), nn.Linear(width, width), act(), nn.Linear(width, D))


def train_autoencoder(width: int, x: torch.Tensor, xt: torch.Tensor, epochs: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    net = autoencoder(width)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    curve, start = {}, time.time()
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(x), generator=gen).split(128):
            loss = ((net(x[idx]) - x[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch in (1, 5, 10, 20, 50, 100, 200) or epoch == epochs:
            with torch.no_grad():
                curve[epoch] = float(((net(xt) - xt) ** 2).mean())
    with torch.no_grad():
        train_mse = float(((net(x[:10000]) - x[:10000]) ** 2).mean())
    return {"width": width, "epochs": epochs, "test_mse": curve[epochs], "train_mse_first_10000": train_mse,
            "test_mse_curve": curve, "seconds": time.time() - start}


def length_rows() -> list[dict]:
    """The closed-form global rows of results/balancing_elbo_length.json, with the mse their variance is."""
    path = RESULTS / f"{LENGTH}.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    return [r for r in rows if r["decoder"] == "closed-form global" and not r["dequantize"]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist", choices=sorted(PAPER))
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--widths", type=int, nargs="+", default=[512, 1024])
    a = p.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(a.dataset)
    x, xt = torch.from_numpy(data.x_train), torch.from_numpy(data.x_test)
    pca = PCA(LATENT, random_state=0).fit(data.x_train)
    pca_mse = float(((pca.inverse_transform(pca.transform(data.x_test)) - data.x_test) ** 2).mean())
    codes = [train_autoencoder(w, x, xt, a.epochs) for w in a.widths]
    paper = PAPER[a.dataset][GLOBAL][0]
    ours = [r for r in length_rows() if r["dataset"] == a.dataset]
    bound = needed_mse(paper)
    lines = [f"| PCA, 16 components | - | {pca_mse:.5f} | {pca_mse / bound:.2f} |"]
    lines += [f"| autoencoder 784-{c['width']}-{c['width']}-16 (no KL, no noise), {c['epochs']} epochs | "
              f"{c['train_mse_first_10000']:.5f} | {c['test_mse']:.5f} | {c['test_mse'] / bound:.2f} |" for c in codes]
    lines += [f"| vaelab closed-form global VAE, {r['epochs']} epochs (its sigma^2; L_20 {r['L20']:.1f}) | - | "
              f"{r['sigma2']:.5f} | {r['sigma2'] / bound:.2f} |" for r in ours]
    md = f"""{__doc__.split(chr(10) + chr(10))[1]}

The paper's closed-form global L_20 on {a.dataset}: {paper}. The mse it needs with KL = gap = 0: {bound:.5f}
(an RMSE of {math.sqrt(bound):.4f} on pixels in [0, 1]); with KL = 30 nats: {needed_mse(paper, 30):.5f}.

| code | train mse | test mse | test mse / the mse L_20 = {paper} needs |
| --- | --- | --- | --- |
""" + "\n".join(lines) + """

A ratio above 1 means that code reconstructs too poorly for the paper's number even before any KL is paid.
Training: 1 thread, on the 2-core machine shared with other jobs."""
    figures = {"dataset": a.dataset, "paper_L20": paper, "needed_mse_kl0": bound, "needed_mse_kl30": needed_mse(paper, 30),
               "pca16_test_mse": pca_mse, "autoencoders": codes,
               "closed_form_runs": [{k: r[k] for k in ("epochs", "sigma2", "L20", "ELBO")} for r in ours]}
    print(write_results(f"balancing_elbo_reconstruction_{a.dataset.replace('-', '_')}", figures, md).read_text())


if __name__ == "__main__":
    run_script(main)
