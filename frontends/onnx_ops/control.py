"""Control flow that resolves at import time: If with a constant condition inlines the taken
branch; Loop and Scan with static trip counts are unrolled, importing the body once per step."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from .dispatch import convert_node
from .node import NodeView
from .registry import converter

MAX_UNROLL = 4096  # iterations; a longer loop is refused rather than blowing up the graph


def run_body(n: NodeView, graph: onnx.GraphProto, bindings: list) -> list:
    """Import graph's nodes with its inputs bound to `bindings`; returns its outputs."""
    ctx = n.ctx
    for info, value in zip(graph.input, bindings):
        ctx.env[info.name] = value
    for init in graph.initializer:
        ctx.bind(init.name, numpy_helper.to_array(init))
    for node in graph.node:
        convert_node(ctx, node)
    return [ctx.lookup(o.name) for o in graph.output]


@converter("If")
def if_(n: NodeView):
    """The taken branch's nodes are imported in place; they see the enclosing scope's values."""
    cond = bool(n.const(0).reshape(-1)[0])
    return run_body(n, n.attr("then_branch" if cond else "else_branch"), [])


def stack(n: NodeView, steps: list, axis: int = 0):
    """Per-iteration values joined along a new axis."""
    return n.op("concat", *[n.op("unsqueeze", s, axes=[axis]) for s in steps], axis=axis)


@converter("Loop")
def loop(n: NodeView):
    """Unrolled: the trip count and every step's condition must be known at import time."""
    body = n.attr("body")
    trips = int(n.const(0).item()) if n.has(0) else MAX_UNROLL + 1
    cond = n.const(1).astype(bool) if n.has(1) else np.array(True)
    states = [n.input(i) for i in range(2, n.n_inputs)]
    n_scan = len(body.output) - 1 - len(states)
    scans: list[list] = [[] for _ in range(n_scan)]
    for i in range(trips):
        if not bool(np.asarray(cond).item()):
            break
        if i == MAX_UNROLL:
            n.fail(f"the loop does not end within {MAX_UNROLL} iterations at import time")
        outs = run_body(n, body, [np.array(i, np.int64), cond, *states])
        cond, states = outs[0], outs[1:1 + len(states)]
        if not isinstance(cond, np.ndarray):
            n.fail("the loop condition must be computable at import time")
        for acc, x in zip(scans, outs[1 + len(states):]):
            acc.append(x)
    if any(not acc for acc in scans):
        n.fail("a loop that runs zero times has empty scan outputs of unknown shape")
    return [*states, *[stack(n, acc) for acc in scans]]


@converter("Scan", since=9)
def scan(n: NodeView):
    """Unrolled over the (static) scan length; states thread through the steps."""
    body, n_in = n.attr("body"), n.attr("num_scan_inputs")
    n_state = n.n_inputs - n_in
    states = [n.input(i) for i in range(n_state)]
    xs = [n.input(i) for i in range(n_state, n.n_inputs)]
    in_axes = n.attr("scan_input_axes", [0] * n_in)
    in_dirs = n.attr("scan_input_directions", [0] * n_in)
    length = n.shape(n_state)[in_axes[0] % n.rank(n_state)]
    if not isinstance(length, int) or length > MAX_UNROLL:
        n.fail(f"the scan length must be static and at most {MAX_UNROLL}, got {length}")
    n_out = len(body.output) - n_state
    out_axes = n.attr("scan_output_axes", [0] * n_out)
    out_dirs = n.attr("scan_output_directions", [0] * n_out)
    steps: list[list] = [[] for _ in range(n_out)]
    for t in range(length):
        slices = [n.op("gather", x, np.array(length - 1 - t if d else t, np.int64), axis=a)
                  for x, a, d in zip(xs, in_axes, in_dirs)]
        outs = run_body(n, body, [*states, *slices])
        states = outs[:n_state]
        for acc, y in zip(steps, outs[n_state:]):
            acc.append(y)
    scanned = []
    for acc, axis, d in zip(steps, out_axes, out_dirs):
        ys = acc[::-1] if d else acc
        scanned.append(stack(n, ys, axis % (n.ctx.type_of(ys[0]).rank + 1)))
    return [*states, *scanned]
