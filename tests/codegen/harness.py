"""Compile the op test cases of tests/ir/ops and compare compiled kernels with the interpreter.

All cases of one op family go into one function, so one tvm.compile covers them.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

import kernforge
from kernforge.ir import Builder, interpret
from kernforge.ir.types import type_of

from ..ir import ops as op_tests
from ..ir.ops.harness import Case, ids


def op_case_modules() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(op_tests.__path__)
                  if i.name.startswith("test_") and i.name != "test_coverage")


def family_cases(module_name: str) -> list[Case]:
    return list(getattr(importlib.import_module(f".{module_name}", op_tests.__name__), "CASES", []))


def case_module(cases: list[Case]) -> tuple[kernforge.ir.Module, dict[str, np.ndarray], dict[str, list[str]]]:
    """One function computing every case; returns it, its inputs, and case id -> output names."""
    b = Builder("cases")
    f = b.function()
    inputs, outputs, names = {}, [], {}
    for cid, case in zip(ids(cases), cases):
        args = []
        for j, x in enumerate(case.inputs):
            x = np.asarray(x)
            arg = f.arg(f"{_ident(cid)}_in{j}", list(x.shape), type_of(x).dtype)
            inputs[arg.name] = x
            args.append(arg)
        res = f.op(case.op, *args, **case.attrs)
        res = list(res) if isinstance(res, tuple) else [res]
        for k, r in enumerate(res):
            r.name = f"{_ident(cid)}_out{k}"
        names[cid] = [r.name for r in res]
        outputs += res
    f.ret(*outputs)
    return b.module, inputs, names


def _ident(cid: str) -> str:
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in cid)


def compile_cases(cases: list[Case]) -> tuple[dict, dict, dict]:
    """Compiled outputs, interpreter outputs, and case id -> output names."""
    module, inputs, names = case_module(cases)
    ours = kernforge.compile(module, opt_level=0).run(inputs)
    ref = interpret(module, inputs)
    return ours, ref, names


def assert_close(ours: np.ndarray, ref: np.ndarray, case: Case, what: str) -> None:
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, f"{what}: {ours.shape} {ours.dtype} vs {ref.shape} {ref.dtype}"
    if ref.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, ref, err_msg=what)
    else:
        np.testing.assert_allclose(ours.astype(np.float64), ref.astype(np.float64),
                                   rtol=max(case.rtol, 1e-5), atol=max(case.atol, 1e-6), err_msg=what)
