"""The target registry: short names and dicts resolve to a Target with its TVM target and traits."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import KernforgeError


class TargetError(KernforgeError):
    """An unknown target name or an invalid target description."""


@dataclass(frozen=True)
class Target:
    """A compilation target: its kind, the TVM target dict, and traits schedules read."""

    kind: str  # "llvm" | "cuda" | "hls"
    options: dict = field(default_factory=dict)
    vector_bits: int = 256
    cores: int = 1

    @property
    def tvm_dict(self) -> dict:
        return {"kind": self.kind, **self.options}

    def tvm(self):
        import tvm

        return tvm.target.Target(self.tvm_dict)

    @property
    def vector_lanes_f32(self) -> int:
        return self.vector_bits // 32

    def has_features(self, *names: str) -> bool:
        """Whether an llvm target's CPU has all these LLVM features (e.g. "avx512bf16")."""
        from tvm.target import codegen

        return self.kind == "llvm" and all(bool(codegen.target_has_features(n, self.tvm())) for n in names)

    def describe(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.kind}({opts})" if opts else self.kind


_KINDS: dict[str, Callable[[dict], Target]] = {}


def register_target(kind: str):
    """Register a factory `options -> Target` for a target kind."""

    def wrap(fn):
        _KINDS[kind] = fn
        return fn

    return wrap


def host_cpu() -> str:
    import tvm

    return str(tvm.target.codegen.llvm_get_system_cpu())


def _cpu_vector_bits(mcpu: str) -> int:
    import tvm

    features = tvm.target.Target({"kind": "llvm", "mcpu": mcpu}).attrs.get("mattr", []) or []
    if any("avx512f" in str(f) for f in features) or mcpu in ("skylake-avx512", "cascadelake", "icelake-server",
                                                               "sapphirerapids", "znver4", "znver5"):
        return 512
    if mcpu.startswith(("znver", "haswell", "broadwell", "skylake", "alderlake", "x86-64-v3")):
        return 256
    return 128


@register_target("llvm")
def _llvm(options: dict) -> Target:
    options = dict(options)
    options.setdefault("mcpu", host_cpu())
    cores = int(options.pop("num-cores", 0) or os.cpu_count() or 1)
    return Target("llvm", options, _cpu_vector_bits(options["mcpu"]), cores)


def resolve_target(spec: Any = None) -> Target:
    """None (host CPU), a short name ("llvm", "cpu"), a dict ({"kind": "llvm", "mcpu": ...}) or a Target."""
    if isinstance(spec, Target):
        return spec
    if spec is None or spec in ("cpu", "host"):
        spec = {"kind": "llvm"}
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict) or "kind" not in spec:
        raise TargetError(f"invalid target {spec!r}: give a name like 'llvm' or a dict with a 'kind'")
    options = {k: v for k, v in spec.items() if k != "kind"}
    factory = _KINDS.get(spec["kind"])
    if factory is None:
        raise TargetError(f"unknown target kind '{spec['kind']}'; available: {', '.join(sorted(_KINDS))}")
    return factory(options)
