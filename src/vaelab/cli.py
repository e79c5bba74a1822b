"""The command line: vaelab train | evaluate | sample | report | compare | classify | moons | potentials | export |
presets.

Errors are one line, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from vaelab.config import ConfigError
from vaelab.execution import ExecutionError
from vaelab.data import DataError
from vaelab.evaluation.inception import InceptionError
from vaelab.files import DamagedFileError, DiskFullError
from vaelab.generation import GenerationError
from vaelab.train import CheckpointError, RunFolderBusy, TrainingError, TrainingStopped, resume_command
from vaelab.train.distributed import DistributedError, current_group, init_from_environment

RUN_HELP = "a run folder written by vaelab train"
CHECKPOINT_HELP = "best.pt (best validation score) or checkpoint.pt (last epoch)"

USER_ERRORS = (ExecutionError, ConfigError, DataError, CheckpointError, TrainingError, GenerationError, InceptionError,
               DistributedError, RunFolderBusy, DiskFullError, DamagedFileError)
FALLBACK_HELP = "where the checkpoint is damaged, use the previous one it replaced (NAME.prev.pt), and say so"


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line errors (its subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"vaelab: error: {_one_line(message)} (see {self.prog} --help)\n")


def _one_line(text: object) -> str:
    """An error's text on one line: a path or key holding a line break must not split the message."""
    return " ".join(str(text).splitlines())


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vaelab", description="Hierarchical, auxiliary and semi-supervised VAEs")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a YAML config, or resume a run")
    t.add_argument("config", nargs="?", help="a YAML file, or a preset name such as demo or lvae/mnist-5layer "
                   "(vaelab presets lists them; a file of that name wins); omit with --resume")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value")
    t.add_argument("--run-dir", help="folder for checkpoints, metrics and results")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped")
    t.add_argument("--init-from", metavar="RUN_DIR", help="start from the weights of another run (same model)")
    t.add_argument("--nproc", type=int, default=1, help="data-parallel processes (gloo on CPU, NCCL on GPUs)")
    t.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)

    e = sub.add_parser("evaluate", help="ELBO, L_K, KL per layer and active units; writes eval.json")
    e.add_argument("run_dir", help=RUN_HELP)
    e.add_argument("--iw-samples", type=int, help="K of L_K (default: the config's eval.iw_samples)")
    e.add_argument("--split", default="test", choices=["test", "val", "train"],
                   help="the split to evaluate (train and val as evaluation sees them: binarised once, fixed seed)")
    e.add_argument("--checkpoint", default="best", choices=["best", "last"], help=CHECKPOINT_HELP)
    e.add_argument("--limit", type=int, help="evaluate only the first N examples of the split")
    e.add_argument("--set", action="append", default=[], metavar="eval.KEY=VALUE",
                   help="an eval setting for this evaluation only, e.g. eval.compile=true")
    e.add_argument("--sample-quality", action="store_true",
                   help="Fréchet distances (fd_classifier) of prior and aggregate-posterior samples to the test set")
    e.add_argument("--inception-weights", metavar="FILE",
                   help="with --sample-quality: also the FID, from this TorchScript inception-2015-12-05.pt")
    e.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)

    s = sub.add_parser("sample", help="PNG grids of samples and reconstructions")
    s.add_argument("run_dir", help=RUN_HELP)
    s.add_argument("--n", type=int, default=100, help="number of samples")
    s.add_argument("--checkpoint", default="best", choices=["best", "last"], help=CHECKPOINT_HELP)
    s.add_argument("--seed", type=int, default=0, help="seed of the samples drawn")
    s.add_argument("--from", dest="source", default="prior", choices=["prior", "aggregate"],
                   help="top latent from the prior or from the aggregate-posterior mixture (fitted if absent)")
    s.add_argument("--uncertainty", action="store_true",
                   help="also heat maps of the predicted per-pixel sigma beside samples and reconstructions")
    s.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)
    _add_report_parsers(sub)
    _add_sharing_parsers(sub)

    c = sub.add_parser("classify", help="label the inputs of a .npy file with a semi-supervised run")
    c.add_argument("run_dir", help="a run folder of a semi-supervised family (m2, adgm, sdgm)")
    c.add_argument("file", help=".npy array of N inputs, shape (N, D) or N images")
    c.add_argument("--out", help="where to write the labels (.npy; default FILE.labels.npy, and FILE.probs.npy)")
    c.add_argument("--samples", type=int, help="samples of a averaged in q(y|a,x) (default eval.classify_samples)")
    c.add_argument("--checkpoint", default="best", choices=["best", "last"], help=CHECKPOINT_HELP)
    c.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)

    m = sub.add_parser("moons", help="half-moons: ADGM vs the same model without a (ADGM Fig. 2c-d)")
    m.add_argument("out", help="folder for the two runs, moons.png and moons.json")
    m.add_argument("--config", default="configs/adgm/moons.yaml", help="an adgm config on the moons")
    m.add_argument("--twin-epochs", type=int, default=None, help="epochs of the model without a (default: the config's)")
    m.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value")

    pot = sub.add_parser("potentials", help="2-D potentials: Gaussian vs auxiliary q, bound vs exact log Z (Fig. 2a-b)")
    pot.add_argument("out", help="folder for potentials.png and potentials.json")
    pot.add_argument("--steps", type=int, default=3000, help="Adam steps per fit")
    pot.add_argument("--seeds", type=int, default=2, help="fits per potential and posterior (the best bound is kept)")
    pot.add_argument("--potentials", type=int, nargs="+", default=[1, 2, 3, 4], choices=[1, 2, 3, 4],
                     help="which of the four potentials U1-U4 of Rezende & Mohamed (2015) to fit")
    return p


def _add_report_parsers(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("report", help="RUN_DIR/report.html: curves, KL maps, latent PCA, samples (self-contained)")
    r.add_argument("run_dir", help=RUN_HELP)
    r.add_argument("--checkpoint", default="best", choices=["best", "last"], help=CHECKPOINT_HELP)
    r.add_argument("--points", type=int, default=2000, help="test examples in the latent PCA (default 2000)")
    r.add_argument("--images", type=int, default=64, help="samples from the prior (default 64)")
    r.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)

    c = sub.add_parser("compare", help="runs' evaluation numbers side by side (Markdown printed, CSV written)")
    c.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders, one row each (evaluated or not)")
    c.add_argument("--by", metavar="KEY", help="sort and group by a config key, e.g. model.latent, layers, experiment")
    c.add_argument("--csv", default="compare.csv", metavar="PATH", help="where to write the CSV (default compare.csv)")


def _add_sharing_parsers(sub: argparse._SubParsersAction) -> None:
    x = sub.add_parser("export", help="OUT/config.json and OUT/model.safetensors: the run's model, loadable without "
                                      "pickle by vaelab.load_pretrained(OUT)")
    x.add_argument("run_dir", help=RUN_HELP)
    x.add_argument("out", help="the folder to write (created; must be empty unless --force)")
    x.add_argument("--checkpoint", default="best", choices=["best", "last"], help=CHECKPOINT_HELP)
    x.add_argument("--force", action="store_true",
                   help="write into a non-empty OUT, replacing its config.json and model.safetensors")
    x.add_argument("--fallback-checkpoint", action="store_true", help=FALLBACK_HELP)
    sub.add_parser("presets", help="the presets that ship with vaelab: name and description (vaelab train NAME)")


def _export(args: argparse.Namespace) -> None:
    from vaelab.pretrained import CONFIG_JSON, WEIGHTS, export_run

    out = export_run(args.run_dir, args.out, args.checkpoint, args.force, args.fallback_checkpoint)
    print(f"wrote {out / CONFIG_JSON} and {out / WEIGHTS}; load with vaelab.load_pretrained({str(out)!r})")


def _presets(args: argparse.Namespace) -> None:
    from vaelab.presets import list_presets

    presets = list_presets()
    width = max((len(p.name) for p in presets), default=0)
    for p in presets:
        print(f"{p.name:<{width}}  {p.description}")


def _train(args: argparse.Namespace) -> None:
    from vaelab.runs import train_run

    if args.resume and (args.config or args.run_dir):
        raise ConfigError("--resume RUN_DIR takes the run's own config: give neither CONFIG nor --run-dir")
    if not args.resume and not args.run_dir:
        raise ConfigError("give --run-dir DIR for a new run (or --resume DIR to continue one)")
    run_dir = args.resume or args.run_dir
    under_torchrun = init_from_environment()  # launched by torchrun: this process is one rank
    records = train_run(args.config, run_dir, args.set, resume=bool(args.resume), nproc=args.nproc,
                        init_from=args.init_from, fallback=args.fallback_checkpoint)
    if under_torchrun and not current_group().main:
        return
    last = records[-1] if records else {}
    print(f"run folder: {run_dir}")
    if last:
        print(f"epoch {last['epoch']}: train ELBO {last['train_elbo']:.3f}, validation ELBO {last.get('val_elbo', float('nan')):.3f}")
        if "val_error" in last:
            print(f"validation error {100 * last['val_error']:.2f}%")


def _evaluate(args: argparse.Namespace) -> None:
    from vaelab.runs import evaluate_run

    if args.inception_weights and not args.sample_quality:
        raise ConfigError("--inception-weights goes with --sample-quality")
    r = evaluate_run(args.run_dir, args.split, args.iw_samples, args.checkpoint, args.limit,
                     quality=args.sample_quality, inception=args.inception_weights, overrides=args.set,
                     fallback=args.fallback_checkpoint)
    print(f"run folder: {args.run_dir}  ({r['split']}, n={r['n']}, {r['checkpoint']} checkpoint, epoch {r['epoch']})")
    if "error" in r:
        print(f"classification error {100 * r['error']:.2f}% ± {100 * r['error_se']:.2f}%  (confusion matrix in eval.json)")
    print(f"ELBO (L_1)          {r['elbo']:.3f} ± {r['elbo_se']:.3f} nats")
    print(f"log-likelihood L_{r['iw_samples']:<5d}{r['log_likelihood']:.3f} ± {r['log_likelihood_se']:.3f} nats")
    if "kl_per_layer" in r:  # semi-supervised runs report the error instead
        print(f"KL per layer        {', '.join(f'{k} {v:.2f}' for k, v in r['kl_per_layer'].items())}")
        print(f"active units        {', '.join(f'{k} {v}' for k, v in r['active_units'].items())}")
    if "aggregate_posterior" in r:
        a = r["aggregate_posterior"]
        print(f"KL(aggregate || prior) {a['kl_aggregate_prior']:.3f} ± {a['kl_aggregate_prior_se']:.3f} nats "
              f"({a['components']}-component mixture over the top latent)")
        print(f"L_{r['iw_samples']} with the mixture as prior {a['log_likelihood']:.3f} ± {a['log_likelihood_se']:.3f} nats")
    for name, values in ((k, v) for k, v in r.get("sample_quality", {}).items() if k in ("fd_classifier", "fid_inception")):
        print(f"{name:<20}{', '.join(f'{src} {d:.3f}' for src, d in values.items())}")
    print(f"written to {args.run_dir}/eval.json")


def _sample(args: argparse.Namespace) -> None:
    from vaelab.runs import sample_run

    for path in sample_run(args.run_dir, args.n, args.checkpoint, args.seed, args.source, args.uncertainty,
                           args.fallback_checkpoint):
        print(f"wrote {path}")


def _report(args: argparse.Namespace) -> None:
    from vaelab.reports import report_run

    print(f"wrote {report_run(args.run_dir, args.checkpoint, args.points, args.images, fallback=args.fallback_checkpoint)}")


def _compare(args: argparse.Namespace) -> None:
    from vaelab.reports import compare_runs

    table, csv_path = compare_runs(args.run_dirs, args.by, args.csv)
    print(table)
    print(f"\nwrote {csv_path}")


def _classify(args: argparse.Namespace) -> None:
    from vaelab.runs import classify_run

    r = classify_run(args.run_dir, args.file, args.out, args.checkpoint, args.samples, args.fallback_checkpoint)
    print(f"{r['n']} inputs labelled; count per class: {r['counts']}")
    print(f"labels written to {r['labels']}, probabilities to {r['probs']}")


def _moons(args: argparse.Namespace) -> None:
    from vaelab.experiments.moons import run_moons

    summary = run_moons(args.config, args.out, args.set, args.twin_epochs)
    for name, r in summary.items():
        print(f"{name:7s} test error {100 * r['test_error']:.2f}% ± {100 * r['test_error_se']:.2f}% after "
              f"{r['epochs']} epochs")
    print(f"wrote {args.out}/moons.png and {args.out}/moons.json")


def _potentials(args: argparse.Namespace) -> None:
    from vaelab.experiments.potentials import run_potentials

    if args.steps < 1 or args.seeds < 1:
        raise ConfigError("--steps and --seeds must be >= 1")
    for r in run_potentials(args.out, tuple(args.potentials), args.steps, tuple(range(args.seeds))):
        print(f"U{r['potential']} {r['posterior']:9s} log Z {r['log_z']:.3f}  bound {r['bound']:.3f}  gap {r['gap']:.3f}")
    print(f"wrote {args.out}/potentials.png and {args.out}/potentials.json")


COMMANDS = {"train": _train, "evaluate": _evaluate, "sample": _sample, "report": _report, "compare": _compare,
            "classify": _classify, "moons": _moons, "potentials": _potentials, "export": _export, "presets": _presets}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from vaelab.pretrained import ExportError
    from vaelab.runs import RunError

    try:
        COMMANDS[args.command](args)
    except (*USER_ERRORS, RunError, ExportError) as err:
        print(f"vaelab: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except TrainingStopped as stop:
        print(f"vaelab: {stop}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print(f"vaelab: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to a reader that stopped early (`vaelab presets | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    return 0


def _resume_hint(args: argparse.Namespace) -> str:
    """For an interrupted `vaelab train`: the command that continues from the last checkpoint written."""
    run_dir = getattr(args, "resume", None) or getattr(args, "run_dir", None) if args.command == "train" else None
    if not run_dir:
        return ""
    return f"; the last checkpoint written is intact: continue with {resume_command(run_dir, args.nproc)}"


if __name__ == "__main__":
    sys.exit(main())
