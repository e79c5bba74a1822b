"""Where and how the arithmetic runs: device, precision, compilation, optimiser kernel, argument checks.

None of these changes the maths of a model or an objective; they change its speed (benchmarks/speed.py and
benchmarks/adgm_speed.py measure each of them). Defaults: the GPU when there is one, float32 (bf16 autocast
where asked for), eager mode, torch's fused Adam kernel, and no argument validation of distributions inside training
and evaluation loops (torch.distributions checks every parameter and value of every call by default, which
costs about a tenth of a step here; non-finite steps are still caught by the loss check of the StepGuard).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import Tensor
from torch.distributions import Distribution

PRECISIONS = ("auto", "float32", "bf16")


def is_device_name(name: str) -> bool:
    """Whether `name` is a device setting resolve_device understands: auto, cpu, cuda or cuda:N."""
    return name in ("auto", "cpu", "cuda") or name.startswith("cuda:")


class ExecutionError(ValueError):
    """A device or precision this machine cannot provide; the message says what to choose instead."""


def resolve_device(name: str) -> torch.device:
    """'auto' -> the first GPU when torch sees one, else the CPU; 'cpu'; 'cuda' or 'cuda:N'."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if is_device_name(name):
        if not torch.cuda.is_available():
            raise ExecutionError(f"device {name!r} asked for, but torch sees no GPU here (torch "
                                 f"{torch.__version__}); use device auto or cpu")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ExecutionError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) here")
        return device
    raise ExecutionError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (the CPU for a module that has neither)."""
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' -> float32 on every device: bf16 autocast is there to choose (`bf16`), but it becomes a default
    only where its numbers have been shown to match float32's (benchmarks/results/bf16.md)."""
    if name not in PRECISIONS:
        raise ExecutionError(f"unknown precision {name!r}; choose {', '.join(PRECISIONS)}")
    if name == "auto":
        return "float32"
    return name


@contextlib.contextmanager
def distribution_checks(enabled: bool) -> Iterator[None]:
    """torch.distributions' argument validation switched on or off inside the block, restored after it."""
    before = Distribution._validate_args
    Distribution.set_default_validate_args(enabled)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(before)


def _tensor_floats(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn with its float keyword arguments passed as 0-d tensors: a compiled fn then serves every warm-up
    weight beta (or alpha) without recompiling for each new value."""

    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs = {k: torch.tensor(v) if isinstance(v, float) else v for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return call


@dataclass
class Execution:
    """The resolved execution settings of one training or evaluation process."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "float32"  # float32 | bf16 (autocast)
    compile: bool = False  # torch.compile the objective (one compilation per objective function)
    fused_adam: bool = True
    check_distributions: bool = False
    _wrapped: dict[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, device: str = "auto", precision: str = "auto", compile: bool = False, fused_adam: bool = True,
               check_distributions: bool = False) -> Execution:
        dev = resolve_device(device)
        return cls(dev, resolve_precision(precision, dev), compile, fused_adam, check_distributions)

    @classmethod
    def from_settings(cls, s: Any) -> Execution:
        """From TrainSettings or EvalSettings (fields device, precision, compile, check_distributions)."""
        return cls.create(s.device, s.precision, s.compile, getattr(s, "fused_adam", True), s.check_distributions)

    def on_rank(self, rank: int, world: int) -> Execution:
        """With several processes on GPUs, process r takes GPU r (of this machine's GPUs) unless one was named."""
        if self.device.type == "cuda" and self.device.index is None and world > 1:
            self.device = torch.device("cuda", rank % torch.cuda.device_count())
        return self

    def objective(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """fn (torch.compile'd once, on first use, where asked for), each call inside its own autocast block.

        Autocast covers the forward pass and the loss only, one call at a time, as torch prescribes: autocast
        caches the bf16 copy of every weight until its block ends, so a block held open across optimiser
        steps would feed every later forward pass the weights of the first step (benchmarks/results/bf16.md).
        """
        if not self.compile and self.precision == "float32":
            return fn
        if fn not in self._wrapped:
            inner = _tensor_floats(torch.compile(fn)) if self.compile else fn

            def call(*args: Any, **kwargs: Any) -> Any:
                with self.autocast():
                    return inner(*args, **kwargs)

            self._wrapped[fn] = call
        return self._wrapped[fn]

    def optimizer(self, params: Any, lr: float) -> torch.optim.Optimizer:
        """Adam; torch's fused kernel (one pass over each parameter) where asked for."""
        return torch.optim.Adam(params, lr=lr, fused=self.fused_adam or None)

    def to(self, x: Tensor) -> Tensor:
        return x.to(self.device, non_blocking=True)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on this device, or nothing (float32); objective() enters it around every call."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The block in which training steps or evaluation chunks run: distribution checks as configured.

        Precision is not set here but per objective call (objective()), so optimiser steps and backward
        passes run outside autocast."""
        with distribution_checks(self.check_distributions):
            yield
