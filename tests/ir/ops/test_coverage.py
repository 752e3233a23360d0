import importlib
import pkgutil

from kernforge.ir.ops import OPS

from .. import ops as pkg

# `fused` runs a region, so its oracle is the interpreter itself: see tests/ir/test_interpreter.py.
TESTED_ELSEWHERE = {"fused"}


def test_every_registered_op_has_an_oracle_case():
    covered = set()
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("test_") and info.name != "test_coverage":
            covered |= {c.op for c in getattr(importlib.import_module(f".{info.name}", pkg.__name__), "CASES", [])}
    missing = sorted(set(OPS) - covered - TESTED_ELSEWHERE)
    assert not missing, f"ops without an oracle test: {missing}"


def test_registry_is_large_enough():
    assert len(OPS) >= 70, len(OPS)
