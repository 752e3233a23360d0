"""Shared op-test harness: run an op's NumPy reference and compare it with an independent
implementation (onnxruntime on a one-node ONNX model, or torch).

Each tests/ir/ops/test_*.py module defines CASES: list[Case]; test_coverage.py checks that
together they cover every registered op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kernforge.ir.ops import get_op
from kernforge.ir.types import type_of

ONNX_OPSET = 21


@dataclass
class Case:
    """One op invocation and its independent oracle (exactly one of onnx / torch / numpy)."""

    op: str
    inputs: list[np.ndarray]
    attrs: dict = field(default_factory=dict)
    onnx: str | None = None  # ONNX op_type run by onnxruntime
    onnx_attrs: dict = field(default_factory=dict)
    onnx_inputs: list | None = None  # ONNX inputs if they differ from `inputs` (None = omitted)
    onnx_domain: str = ""
    opset: int = ONNX_OPSET
    torch: Callable | None = None  # fn(*torch_tensors) -> tensor or tuple of tensors
    rtol: float = 1e-5
    atol: float = 1e-6
    id: str = ""

    def __str__(self) -> str:
        return self.id or self.op


def run_reference(case: Case) -> list[np.ndarray]:
    """Run the op's reference and check results against its own type inference."""
    opdef = get_op(case.op)
    attrs = opdef.check_attrs(case.attrs)
    types = opdef.infer_types([type_of(np.asarray(x)) for x in case.inputs], attrs)
    outs = opdef.evaluate([np.asarray(x) for x in case.inputs], attrs)
    assert len(outs) == len(types), f"{case.op}: {len(outs)} results, inference says {len(types)}"
    for out, t in zip(outs, types):
        out = np.asarray(out)
        assert tuple(out.shape) == t.shape, f"{case.op}: shape {out.shape} vs inferred {t}"
        assert out.dtype == t.dtype.numpy or out.astype(t.dtype.numpy).dtype == t.dtype.numpy
    return [np.asarray(o).astype(t.dtype.numpy) for o, t in zip(outs, types)]


def run_onnx(case: Case, ours: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort
    from onnx import helper

    raw = case.onnx_inputs if case.onnx_inputs is not None else case.inputs
    names, graph_inputs, feeds = [], [], {}
    for i, x in enumerate(raw):
        if x is None:
            names.append("")
            continue
        x = np.asarray(x)
        name = f"in{i}"
        names.append(name)
        elem = helper.np_dtype_to_tensor_dtype(x.dtype)
        graph_inputs.append(helper.make_tensor_value_info(name, elem, x.shape))
        feeds[name] = x
    outs = [f"out{i}" for i in range(len(ours))]
    node = helper.make_node(case.onnx, names, outs, domain=case.onnx_domain, **case.onnx_attrs)
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(y.dtype), None)
                               for o, y in zip(outs, ours)])
    opsets = [helper.make_opsetid("", case.opset)]
    if case.onnx_domain:
        opsets.append(helper.make_opsetid(case.onnx_domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = min(model.ir_version, 10)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_torch(case: Case) -> list[np.ndarray]:
    import torch

    args = [torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x for x in case.inputs]
    out = case.torch(*args)
    out = out if isinstance(out, (tuple, list)) else [out]
    return [o.detach().numpy() if hasattr(o, "detach") else np.asarray(o) for o in out]


def check_case(case: Case) -> None:
    ours = run_reference(case)
    if case.onnx is not None:
        theirs = run_onnx(case, ours)
    elif case.torch is not None:
        theirs = run_torch(case)
    else:
        raise AssertionError(f"case {case} has no independent oracle")
    assert len(theirs) == len(ours), f"{case}: {len(ours)} results vs oracle {len(theirs)}"
    for a, b in zip(ours, theirs):
        b = np.asarray(b)
        assert a.shape == b.shape, f"{case}: shape {a.shape} vs oracle {b.shape}"
        if a.dtype.kind in "biu" or a.dtype == np.bool_:
            np.testing.assert_array_equal(a, b.astype(a.dtype), err_msg=str(case))
        else:
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64),
                                       rtol=case.rtol, atol=case.atol, err_msg=str(case))


def ids(cases: list[Case]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        base = str(c)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def rand(*shape: int, dtype: Any = np.float32, seed: int = 0, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    """Deterministic random test data."""
    rng = np.random.default_rng(seed + sum(shape))
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def infer(name: str, types: list, **attrs) -> list:
    """Type inference of one op on operand types, attributes checked as the builder would."""
    opdef = get_op(name)
    return opdef.infer_types(types, opdef.check_attrs(attrs))
