"""An inverted-residual block (1x1 expand -> k x k depthwise -> 1x1 project [-> + input], each with its
elementwise epilogue) as one line-buffer kernel. Each task walks its rows in order and keeps the last k
expanded rows in a ring, zero-padded at both row ends: an expanded row is computed once (again only at
a task seam), and the expanded map never leaves the core's cache. Hand-written TIR, because a TE
schedule cannot keep a ring of rows.

Two forms (line_block_forms.py). Along channels: for NCHW8c maps every load and store is one contiguous
vector; NCHW maps are read as broadcast scalars anyway and written a lane at a time. Along the width:
for NCHW maps whose channel counts do not fill whole vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tvm import te, tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as T

from ...ir.graph import Function, Node
from ...ir.layouts import channel_block, physical_shape
from .activation import vector_epilogue
from .line_block_forms import F32, LANES, Block, ChannelsForm, RowsForm
from .registry import Prepack

RULE = "line_block"  # the schedule rule its kernels name (schedules/cpu_block.py: scheduled as written)


@dataclass(frozen=True)
class Stage:
    conv: Node
    epilogue: list[Node]


def stages(body: Function) -> list[Stage] | None:
    """The block's convolutions, each with the elementwise nodes after it; None unless three."""
    found: list[Stage] = []
    for node in body.nodes:
        if node.op == "conv2d":
            found.append(Stage(node, []))
        elif found:
            found[-1].epilogue.append(node)
        else:
            return None
    return found if len(found) == 3 else None


def _blocked(body: Function) -> bool:
    return channel_block(body.args[0].type.layout) is not None


def supports(body: Function) -> bool:
    """Whether the line kernel computes this block: float32 values all plain or all NCHW8c, an odd k x k
    stride-1 depthwise conv padded to keep the size, and epilogues of unary float ops (and the residual
    add of the input)."""
    st = stages(body)
    if st is None or any(str(v.type.dtype) != "f32" for v in body.args):
        return False
    residual = _residual(st)
    # the maps in memory; the stages' own layouts do not matter, their values stay in the kernel
    maps = [st[0].conv.operands[0], *([residual] if residual is not None else []), *body.outputs]
    blocks = {channel_block(v.type.layout) for v in maps}
    if blocks not in ({None}, {LANES}) or (blocks == {LANES} and st[0].conv.result.type.shape[1] % LANES):
        return False
    dw = st[1].conv
    k = int(dw.operands[1].type.shape[2])
    if list(dw.operands[1].type.shape[2:]) != [k, k] or k % 2 == 0 or list(dw.attrs["pads"]) != [k // 2] * 4:
        return False
    if set(dw.attrs["strides"]) != {1} or set(dw.attrs.get("dilations", [1, 1])) != {1}:
        return False
    return all(_epilogue_step(n, body, i == 2) is not None for i, s in enumerate(st) for n in s.epilogue)


def _residual(st: list[Stage]):
    """The block argument the project stage's epilogue adds (the residual input), or None."""
    return next((v for n in st[2].epilogue if n.op == "add" for v in n.operands if v.producer is None), None)


def _epilogue_step(node: Node, body: Function, last: bool):
    """f(value, residual) for one epilogue node, or None if the kernel does not support it."""
    if node.op == "add" and last and len(node.operands) == 2:
        other = [v for v in node.operands if v.producer is None]
        ok = len(other) == 1 and any(other[0] is a for a in body.args) and other[0].type.shape == node.result.type.shape
        return (lambda v, res: v + res) if ok else None
    f = vector_epilogue(node.op, node.attrs) if len(node.operands) == 1 else None
    return None if f is None else (lambda v, res: f(v))


def _transposed(name: str) -> Prepack:
    """A conv weight [O, I, kh, kw] stored as [I * kh * kw, O]: output channels contiguous."""
    return Prepack(name, lambda a: np.ascontiguousarray(a.reshape(a.shape[0], -1).T),
                   lambda s: (int(np.prod(s[1:])), s[0]), lambda t, shape: t)


TRANSPOSED = _transposed("line_t")


def _along_channels(body: Function) -> bool:
    """The channel-vector form: for NCHW8c maps, and for NCHW ones whose expanded and output channels
    fill whole vectors (56x56, 24 -> 144 -> 24: 0.337 ms against 0.352 along the width)."""
    st = stages(body)
    return _blocked(body) or all(int(st[i].conv.result.type.shape[1]) % LANES == 0 for i in (0, 2))


def weight_packs(body: Function) -> dict[int, Prepack]:
    """Body arg index -> layout of each conv weight: transposed for the channel-vector form."""
    if not _along_channels(body):
        return {}
    index = {id(a): i for i, a in enumerate(body.args)}
    return {index[id(s.conv.operands[1])]: TRANSPOSED for s in stages(body) if id(s.conv.operands[1]) in index}


def _block(ins, out, body: Function, registers: int) -> Block:
    st = stages(body)
    index = {id(a): i for i, a in enumerate(body.args)}
    bufs = [T.buffer_proxy(b) for b in ins]
    arg = lambda v: bufs[index[id(v)]]
    weights = [(arg(s.conv.operands[1]), arg(s.conv.operands[2]) if len(s.conv.operands) > 2 else None) for s in st]
    residual = _residual(st)
    batch, chans, height, width = (int(d) for d in st[0].conv.operands[0].type.shape)
    return Block(arg(st[0].conv.operands[0]), T.buffer_proxy(out), weights,
                 [[_epilogue_step(n, body, i == 2) for n in s.epilogue] for i, s in enumerate(st)],
                 arg(residual) if residual is not None else None, batch, chans,
                 int(st[0].conv.result.type.shape[1]), int(st[2].conv.result.type.shape[1]), height, width, registers,
                 int(st[1].conv.operands[1].type.shape[2]))


def _body(ins, out, body: Function, cores: int, registers: int):
    b = _block(ins, out, body, registers)
    form = ChannelsForm(b, _blocked(body)) if _along_channels(body) else RowsForm(b)
    tasks = max(1, min(cores, b.height))
    rows = -(-b.height // tasks)
    with IRBuilder() as ib:
        with T.parallel(0, b.batch * tasks) as job:
            n, r0 = job // tasks, job % tasks * rows
            form.alloc()
            # step i expands row r0 - halo + i into the ring and, from i = 2 halo, finishes row r0 + i - 2 halo
            with T.serial(0, rows + 2 * b.halo) as i:
                r = r0 - b.halo + i
                slot = tirx.floormod(r + b.k, b.k)
                with T.If(tirx.all(r >= 0, r < b.height)):
                    with T.Then():
                        form.expand(n, r, slot)
                    with T.Else():
                        form.zero_row(slot)
                done = r0 + i - 2 * b.halo
                with T.If(tirx.all(i >= 2 * b.halo, done < b.height)):
                    with T.Then():
                        form.depthwise(done)
                        form.project(n, done)
    return ib.get()


def line_block_compute(body: Function, cores: int, registers: int, packs: dict[int, Prepack]):
    """Placeholders for the body's arguments (weights in their packed shapes) and the extern result."""
    inputs = []
    for i, a in enumerate(body.args):
        shape = packs[i].shape(tuple(a.type.shape)) if i in packs else physical_shape(a.type)
        inputs.append(te.placeholder([int(d) for d in shape], F32, name=f"in{i}"))
    shape = [int(d) for d in physical_shape(body.outputs[0].type)]
    out = te.extern([shape], inputs, lambda ins, outs: _body(ins, outs[0], body, cores, registers),
                    dtype=[F32], name="line_block")
    return inputs, [out]


def registers_of(vector_bits: int) -> int:
    """Vector registers of an x86 target: 32 with AVX-512, else 16."""
    return 32 if vector_bits >= 512 else 16
