"""Where and how the arithmetic runs: device, precision, compilation, optimiser kernel, argument checks.

None of these changes the maths of a model or an objective; they change its speed (benchmarks/speed.py and
benchmarks/adgm_speed.py measure each of them). Defaults: the GPU when there is one, bf16 autocast only
there, eager mode, torch's fused Adam kernel, and no argument validation of distributions inside training
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
    """'auto' -> bf16 autocast on a GPU, float32 on the CPU (the CPU's float32 path is the reference)."""
    if name not in PRECISIONS:
        raise ExecutionError(f"unknown precision {name!r}; choose {', '.join(PRECISIONS)}")
    if name == "auto":
        return "bf16" if device.type == "cuda" else "float32"
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
    _compiled: dict[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict, repr=False)

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
        """fn itself, or its torch.compile'd version (compiled once, on first use)."""
        if not self.compile:
            return fn
        if fn not in self._compiled:
            self._compiled[fn] = _tensor_floats(torch.compile(fn))
        return self._compiled[fn]

    def optimizer(self, params: Any, lr: float) -> torch.optim.Optimizer:
        """Adam; torch's fused kernel (one pass over each parameter) where asked for."""
        return torch.optim.Adam(params, lr=lr, fused=self.fused_adam or None)

    def to(self, x: Tensor) -> Tensor:
        return x.to(self.device, non_blocking=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The block in which training steps or evaluation chunks run: checks and autocast as configured."""
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision == "bf16"
                    else contextlib.nullcontext())
        with distribution_checks(self.check_distributions), autocast:
            yield
