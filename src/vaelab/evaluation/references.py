"""The papers' reported numbers, keyed by a config's top-level `experiment` (shown by `vaelab compare`).

Only numbers the papers state in their text or tables (restated in ../shared/papers/EQUATIONS.md) are here.
An experiment the papers plot but give no number for (most cells of LVAE Fig. 3) has an empty `numbers`:
it still names the experiment, and compare shows its reference cells as blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperReference:
    """What a paper reports for one experiment. numbers: metric -> value, metric one of REFERENCE_METRICS."""

    source: str  # e.g. "LVAE Fig. 3 / Table 1"
    numbers: dict[str, float] = field(default_factory=dict)
    note: str = ""


# metric -> column title; the metrics mean what eval.json's keys of the same name mean (nats per example),
# except error, the test classification error in percent.
REFERENCE_METRICS: dict[str, str] = {
    "elbo": "paper L_1",
    "log_likelihood": "paper L_5000",
    "error": "paper error (%)",
}

_LVAE_VARIANTS = ("vae", "vae-bn", "vae-bn-wu", "lvae-bn-wu")


def _lvae_fig3() -> dict[str, PaperReference]:
    """LVAE Fig. 3: MNIST, 1-5 layers x {VAE, VAE+BN, VAE+BN+WU, LVAE+BN+WU}; the text gives two cells."""
    table = {}
    for variant in _LVAE_VARIANTS:
        for layers in range(1 if variant != "lvae-bn-wu" else 2, 6):
            table[f"lvae-fig3/{variant}-{layers}layer"] = PaperReference("LVAE Fig. 3")
    table["lvae-fig3/lvae-bn-wu-5layer"] = PaperReference(
        "LVAE Fig. 3 / Table 1", {"elbo": -85.23, "log_likelihood": -82.12})
    table["lvae-fig3/vae-bn-wu-3layer"] = PaperReference(
        "LVAE Fig. 3", {"elbo": -87.49},
        "the text's best VAE (3 layers) without naming its variant; BN+WU is the best VAE curve of Fig. 3b")
    return table


def _lvae_norb_style() -> dict[str, PaperReference]:
    """The LVAE paper's NORB (Gaussian) settings applied to Fashion-MNIST: named, with no numbers to compare."""
    note = "LVAE Table 2 reports NORB only; no Fashion-MNIST numbers"
    return {f"lvae-norb-style/fashion-mnist-{family}-bn-wu-{layers}layer":
            PaperReference("LVAE Table 2 (settings)", {}, note) for family in ("vae", "lvae") for layers in (1, 2, 3)}


def paper_references() -> dict[str, PaperReference]:
    """Every experiment a preset may name, with the numbers its paper reports (LVAE, ADGM)."""
    table = _lvae_fig3()
    table.update(_lvae_norb_style())
    table.update({
        "lvae-table1/lvae-5layer": PaperReference("LVAE Table 1", {"elbo": -85.23, "log_likelihood": -82.12}),
        "lvae-table1/lvae-5layer-finetune": PaperReference("LVAE Table 1", {"log_likelihood": -81.84}),
        "lvae-table1/lvae-5layer-finetune-iw10": PaperReference("LVAE Table 1", {"log_likelihood": -81.74}),
        "adgm-table1/avae-1layer": PaperReference("ADGM Table 1", {"log_likelihood": -84.59}),
        "adgm-table1/avae-2layer": PaperReference("ADGM Table 1", {"log_likelihood": -82.97}),
        "adgm-table2/mnist-100-m2": PaperReference("ADGM Table 2 (Kingma et al. 2014)", {"error": 11.97}),
        "adgm-table2/mnist-100-adgm": PaperReference("ADGM Table 2", {"error": 0.96}),
        "adgm-table2/mnist-100-sdgm": PaperReference("ADGM Table 2", {"error": 1.32}),
        "adgm-table2/svhn-1000-adgm": PaperReference("ADGM Table 2", {"error": 22.86}),
        "adgm-table2/svhn-1000-sdgm": PaperReference("ADGM Table 2", {"error": 16.61}),
        "adgm-table2/norb-1000-adgm": PaperReference("ADGM Table 2", {"error": 10.06}),
        "adgm-table2/norb-1000-sdgm": PaperReference("ADGM Table 2", {"error": 9.40}),
    })
    return table
