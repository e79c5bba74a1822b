"""The command line: vaelab train | evaluate | sample | classify. Errors are one line, never a traceback."""

from __future__ import annotations

import argparse
import sys

from vaelab.config import ConfigError
from vaelab.data import DataError
from vaelab.train import CheckpointError, TrainingError
from vaelab.train.distributed import DistributedError, current_group, init_from_environment

USER_ERRORS = (ConfigError, DataError, CheckpointError, TrainingError, DistributedError)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vaelab", description="Hierarchical, auxiliary and semi-supervised VAEs")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a YAML config, or resume a run")
    t.add_argument("config", nargs="?", help="YAML config (see configs/); omit with --resume")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value")
    t.add_argument("--run-dir", help="folder for checkpoints, metrics and results")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped")
    t.add_argument("--nproc", type=int, default=1, help="data-parallel processes (gloo on CPU, NCCL on GPUs)")

    e = sub.add_parser("evaluate", help="ELBO, L_K, KL per layer and active units; writes eval.json")
    e.add_argument("run_dir")
    e.add_argument("--iw-samples", type=int, help="K of L_K (default: the config's eval.iw_samples)")
    e.add_argument("--split", default="test", choices=["test", "val", "train"])
    e.add_argument("--checkpoint", default="best", choices=["best", "last"])
    e.add_argument("--limit", type=int, help="evaluate only the first N examples of the split")

    s = sub.add_parser("sample", help="PNG grids of samples and reconstructions")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=100, help="number of samples")
    s.add_argument("--checkpoint", default="best", choices=["best", "last"])
    s.add_argument("--seed", type=int, default=0)

    c = sub.add_parser("classify", help="label the inputs of a .npy file with a semi-supervised run")
    c.add_argument("run_dir")
    c.add_argument("file", help=".npy array of N inputs, shape (N, D) or N images")
    c.add_argument("--out", help="where to write the labels (.npy; default FILE.labels.npy, and FILE.probs.npy)")
    c.add_argument("--samples", type=int, help="samples of a averaged in q(y|a,x) (default eval.classify_samples)")
    c.add_argument("--checkpoint", default="best", choices=["best", "last"])
    return p


def _train(args: argparse.Namespace) -> None:
    from vaelab.runs import train_run

    if args.resume and (args.config or args.run_dir):
        raise ConfigError("--resume RUN_DIR takes the run's own config: give neither CONFIG nor --run-dir")
    if not args.resume and not args.run_dir:
        raise ConfigError("give --run-dir DIR for a new run (or --resume DIR to continue one)")
    run_dir = args.resume or args.run_dir
    if args.nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {args.nproc}")
    under_torchrun = init_from_environment()  # launched by torchrun: this process is one rank
    records = train_run(args.config, run_dir, args.set, resume=bool(args.resume), nproc=args.nproc)
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

    r = evaluate_run(args.run_dir, args.split, args.iw_samples, args.checkpoint, args.limit)
    print(f"run folder: {args.run_dir}  ({r['split']}, n={r['n']}, {r['checkpoint']} checkpoint, epoch {r['epoch']})")
    if "error" in r:
        print(f"classification error {100 * r['error']:.2f}% ± {100 * r['error_se']:.2f}%  (confusion matrix in eval.json)")
    print(f"ELBO (L_1)          {r['elbo']:.3f} ± {r['elbo_se']:.3f} nats")
    print(f"log-likelihood L_{r['iw_samples']:<5d}{r['log_likelihood']:.3f} ± {r['log_likelihood_se']:.3f} nats")
    if "kl_per_layer" in r:
        print(f"KL per layer        {', '.join(f'{k} {v:.2f}' for k, v in r['kl_per_layer'].items())}")
        print(f"active units        {', '.join(f'{k} {v}' for k, v in r['active_units'].items())}")
    print(f"written to {args.run_dir}/eval.json")


def _sample(args: argparse.Namespace) -> None:
    from vaelab.runs import sample_run

    for path in sample_run(args.run_dir, args.n, args.checkpoint, args.seed):
        print(f"wrote {path}")


def _classify(args: argparse.Namespace) -> None:
    from vaelab.runs import classify_run

    r = classify_run(args.run_dir, args.file, args.out, args.checkpoint, args.samples)
    print(f"{r['n']} inputs labelled; count per class: {r['counts']}")
    print(f"labels written to {r['labels']}, probabilities to {r['probs']}")


COMMANDS = {"train": _train, "evaluate": _evaluate, "sample": _sample, "classify": _classify}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from vaelab.runs import RunError

    try:
        COMMANDS[args.command](args)
    except (*USER_ERRORS, RunError) as err:
        print(f"vaelab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaelab: interrupted; continue with vaelab train --resume RUN_DIR", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
