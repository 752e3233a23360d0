"""RNN, GRU and LSTM, unrolled over the (static) sequence into matmuls and activations.

The input projection of every step is one matmul over the whole sequence; each step adds the
recurrent projection of the previous hidden state and applies the gates of its cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .node import NodeView
from .registry import converter

DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


@dataclass
class Direction:
    """The weights of one direction, sliced out of the stacked ONNX tensors."""

    w: object  # [G*H, I]
    r: object  # [G*H, H]
    wb: object | None = None  # [G*H]
    rb: object | None = None  # [G*H]
    peep: list = field(default_factory=list)  # LSTM: [P_i, P_o, P_f], each [H]


def activation(n: NodeView, name: str, alpha, beta, x):
    """Apply one ONNX RNN activation function by name."""
    dt = n.ctx.type_of(x).dtype.numpy
    c = lambda v: np.array(v, dt)
    simple = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu", "Softsign": "softsign", "Softplus": "softplus"}
    if name in simple:
        return n.op(simple[name], x)
    if name == "HardSigmoid":
        return n.op("hardsigmoid", x, alpha=0.2 if alpha is None else alpha, beta=0.5 if beta is None else beta)
    if name == "LeakyRelu":
        return n.op("leaky_relu", x, alpha=0.01 if alpha is None else alpha)
    if name == "Elu":
        return n.op("elu", x, alpha=1.0 if alpha is None else alpha)
    if name == "Affine":
        return n.op("add", n.op("mul", x, c(alpha)), c(beta))
    if name == "ScaledTanh":
        return n.op("mul", n.op("tanh", n.op("mul", x, c(beta))), c(alpha))
    return n.fail(f"activation {name} is not supported")


def gate_fns(n: NodeView, count: int, num_dirs: int) -> list[list]:
    """Per direction, the activation callables (with their alpha/beta) in ONNX order."""
    names = [s.capitalize() if s.islower() else s for s in n.attr("activations", [])] or \
        DEFAULT_ACTIVATIONS[n.op_type] * num_dirs
    alphas, betas = list(n.attr("activation_alpha", [])), list(n.attr("activation_beta", []))
    fns = []
    for i, name in enumerate(names):
        a = alphas[i] if i < len(alphas) else None
        b = betas[i] if i < len(betas) else None
        fns.append(lambda x, name=name, a=a, b=b: activation(n, name, a, b, x))
    return [fns[d * count:(d + 1) * count] for d in range(num_dirs)]


def direction_weights(n: NodeView, d: int, hidden: int) -> Direction:
    """W, R, the two halves of B and the peepholes of direction d."""
    g = GATES[n.op_type]
    take = lambda i: n.op("gather", n.input(i), np.array(d, np.int64), axis=0)
    out = Direction(take(1), take(2))
    if n.has(3):
        b = take(3)
        out.wb, out.rb = n.op("split", b, axis=0, sizes=[g * hidden, g * hidden])
    if n.op_type == "LSTM" and n.has(7):
        out.peep = list(n.op("split", take(7), axis=0, sizes=[hidden] * 3))
    return out


def initial_state(n: NodeView, i: int, d: int, batch: int, hidden: int):
    if not n.has(i):
        return np.zeros((batch, hidden), n.type(0).dtype.numpy)
    axis = 1 if n.attr("layout", 0) else 0
    return n.op("gather", n.input(i), np.array(d, np.int64), axis=axis)


def split_gates(n: NodeView, x, hidden: int):
    g = GATES[n.op_type]
    return list(n.op("split", x, axis=-1, sizes=[hidden] * g)) if g > 1 else [x]


def linear(n: NodeView, x, w, bias=None):
    """x @ w^T (+ bias)."""
    y = n.op("matmul", x, n.op("transpose", w, perm=[1, 0]))
    return y if bias is None else n.op("add", y, bias)


def clipped(n: NodeView, x):
    clip = n.attr("clip")
    return x if clip is None else n.op("clip", x, min=-clip, max=clip)


def rnn_step(n: NodeView, xw, h, c, wts: Direction, fns: list, hidden: int):
    """H = f(X W^T + H R^T + Wb + Rb); the input part and biases are already in xw."""
    pre = n.op("add", xw, linear(n, h, wts.r, wts.rb))
    return fns[0](clipped(n, pre)), None


def gru_step(n: NodeView, xw, h, c, wts: Direction, fns: list, hidden: int):
    """Update (z), reset (r) and candidate (h) gates; linear_before_reset moves r after R_h."""
    xz, xr, xh = split_gates(n, xw, hidden)
    rz, rr, rh = split_gates(n, linear(n, h, wts.r), hidden)
    rbz, rbr, rbh = split_gates(n, wts.rb, hidden) if wts.rb is not None else (None, None, None)
    add = lambda a, b: a if b is None else n.op("add", a, b)
    z = fns[0](clipped(n, add(n.op("add", xz, rz), rbz)))
    r = fns[0](clipped(n, add(n.op("add", xr, rr), rbr)))
    if n.attr("linear_before_reset", 0):
        recur = n.op("mul", r, add(rh, rbh))
    else:
        rh_w = n.op("slice", wts.r, starts=[2 * hidden], ends=[3 * hidden], axes=[0])
        recur = add(linear(n, n.op("mul", r, h), rh_w), rbh)
    cand = fns[1](clipped(n, n.op("add", xh, recur)))
    one = np.array(1, n.type(0).dtype.numpy)
    return n.op("add", n.op("mul", n.op("sub", one, z), cand), n.op("mul", z, h)), None


def lstm_step(n: NodeView, xw, h, c, wts: Direction, fns: list, hidden: int):
    """Input, output, forget and cell gates (ONNX order i, o, f, c) with optional peepholes."""
    pre = split_gates(n, n.op("add", xw, linear(n, h, wts.r, wts.rb)), hidden)
    i_pre, o_pre, f_pre, c_pre = pre
    if wts.peep:
        i_pre = n.op("add", i_pre, n.op("mul", wts.peep[0], c))
        f_pre = n.op("add", f_pre, n.op("mul", wts.peep[2], c))
    i = fns[0](clipped(n, i_pre))
    f = fns[0](clipped(n, f_pre))
    if n.attr("input_forget", 0):
        f = n.op("sub", np.array(1, n.type(0).dtype.numpy), i)
    c_new = n.op("add", n.op("mul", f, c), n.op("mul", i, fns[1](clipped(n, c_pre))))
    if wts.peep:
        o_pre = n.op("add", o_pre, n.op("mul", wts.peep[1], c_new))
    o = fns[0](clipped(n, o_pre))
    return n.op("mul", o, fns[2](c_new)), c_new


STEPS = {"RNN": rnn_step, "GRU": gru_step, "LSTM": lstm_step}


def run_direction(n: NodeView, x, d: int, reverse: bool, fns: list, dims: tuple[int, int, int]):
    """Unroll one direction; returns (per-step outputs in time order, last h, last c)."""
    seq, batch, hidden = dims
    wts = direction_weights(n, d, hidden)
    xw_all = linear(n, x, wts.w, wts.wb)  # [seq, batch, G*H]
    if n.op_type != "GRU" and wts.rb is not None:  # GRU applies part of Rb after the reset gate
        xw_all = n.op("add", xw_all, wts.rb)
        wts.rb = None
    h, c = initial_state(n, 5, d, batch, hidden), initial_state(n, 6, d, batch, hidden)
    outs = [None] * seq
    for t in (range(seq - 1, -1, -1) if reverse else range(seq)):
        xw = n.op("gather", xw_all, np.array(t, np.int64), axis=0)
        h, c_next = STEPS[n.op_type](n, xw, h, c, wts, fns, hidden)
        c = c_next if c_next is not None else c
        outs[t] = h
    return outs, h, c


@converter("RNN", "GRU", "LSTM", since=7)
def recurrent(n: NodeView):
    """Outputs Y [seq, dirs, batch, H] (layout 1: batch first), Y_h and, for LSTM, Y_c."""
    layout = n.attr("layout", 0)
    x = n.op("transpose", n.input(0), perm=[1, 0, 2]) if layout else n.input(0)
    seq, batch = n.ctx.type_of(x).shape[:2]
    if not isinstance(seq, int) or not isinstance(batch, int):
        n.fail(f"the sequence length and batch must be static, got {seq} and {batch}")
    if n.has(4) and not np.all(n.const(4) == seq):
        n.fail("sequence_lens shorter than the sequence are not supported")
    hidden, direction = n.attr("hidden_size"), n.attr("direction", "forward")
    dirs = [False, True] if direction == "bidirectional" else [direction == "reverse"]
    fns = gate_fns(n, len(DEFAULT_ACTIVATIONS[n.op_type]), len(dirs))
    results = [run_direction(n, x, d, rev, fns[d], (seq, batch, hidden)) for d, rev in enumerate(dirs)]
    stack = lambda xs, axis: n.op("concat", *[n.op("unsqueeze", v, axes=[axis]) for v in xs], axis=axis)
    y = stack([stack(outs, 0) for outs, _, _ in results], 1)  # [seq, dirs, batch, H]
    y_h = stack([h for _, h, _ in results], 0)
    y_c = stack([c for _, _, c in results], 0)
    if layout:
        y = n.op("transpose", y, perm=[2, 0, 1, 3])
        y_h, y_c = (n.op("transpose", v, perm=[1, 0, 2]) for v in (y_h, y_c))
    return (y, y_h, y_c) if n.op_type == "LSTM" else (y, y_h)
