"""An inverted-residual block (1x1 expand -> k x k depthwise -> 1x1 project [-> + input], each with its
elementwise epilogue) as one line-buffer kernel. Each task walks its rows in order and keeps the last k
expanded rows in a ring, zero-padded at both row ends: an expanded row is computed once (again only at
a task seam), and the expanded map never leaves the core's cache. Hand-written TIR, because a TE
schedule cannot keep a ring of rows.

Two forms. Along channels (the ring holds rows of pixels, channels innermost, and the weights come
transposed): for NCHW8c maps every load and store is one contiguous vector; NCHW maps are read as
broadcast scalars anyway and written a lane at a time. Along the width (rows of channels in the ring):
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
from .registry import Prepack

LANES = 8  # one 256-bit vector; 512-bit targets keep it and get twice the registers for tiles
F32 = "float32"
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


def _ramp(start, lanes: int):
    return tirx.Ramp(start, 1, lanes) if lanes > 1 else start


def _bcast(value, lanes: int):
    return tirx.Broadcast(value, lanes) if lanes > 1 else value


def _zeros(lanes: int):
    return _bcast(tirx.const(0, F32), lanes)


def _apply(steps, v, residual):
    for step in steps:
        v = step(v, residual)
    return v


def _best_tile(fits, intensity):
    return max(fits, key=lambda tg: intensity(*tg))


@dataclass
class Block:
    """What both forms read: the stages' buffers, sizes and epilogues."""

    x: object
    y: object
    weights: list  # (weight, bias or None) per stage
    steps: list  # epilogue steps per stage
    residual: object  # the residual input's buffer, or None
    batch: int
    chans: int
    expanded: int
    outs: int
    height: int
    width: int
    registers: int
    k: int  # the depthwise kernel's size: the ring holds k expanded rows, each with k // 2 zeros at both ends

    @property
    def halo(self) -> int:
        return self.k // 2

    @property
    def pad_columns(self) -> list[int]:
        """The ring's zero columns: `halo` before each row and `halo` after it."""
        return [*range(self.halo), *range(self.width + self.halo, self.width + 2 * self.halo)]


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


class RowsForm:
    """Plain NCHW: vectors along the width; the ring is [slot, channel, halo + width + halo]."""

    def __init__(self, b: Block):
        self.b = b
        self.chunks = [(w0, min(LANES, b.width - w0)) for w0 in range(0, b.width, LANES)]

    def alloc(self):
        b = self.b
        self.ring = T.buffer_proxy(T.alloc_buffer([b.k, b.expanded, b.width + 2 * b.halo], F32))
        self.drow = T.buffer_proxy(T.alloc_buffer([b.expanded, b.width], F32))
        with T.serial(0, b.k * b.expanded) as se:
            for col in b.pad_columns:
                self.ring[se // b.expanded, se % b.expanded, col] = tirx.const(0, F32)

    def expand(self, n, r, slot):
        b, (w1, b1) = self.b, self.b.weights[0]

        def put(e, w0, lanes, v):
            self.ring[slot, e, _ramp(w0 + b.halo, lanes)] = _apply(b.steps[0], v, None)

        self._pointwise(b.expanded, b.chans, w1, b1, lambda c, w0, lanes: b.x[n, c, r, _ramp(w0, lanes)], put)

    def zero_row(self, slot):
        with T.serial(0, self.b.expanded) as e:
            for w0, lanes in self.chunks:
                self.ring[slot, e, _ramp(w0 + self.b.halo, lanes)] = _zeros(lanes)

    def depthwise(self, row):
        b, (wd, bd) = self.b, self.b.weights[1]
        with T.serial(0, b.expanded) as e:
            for w0, lanes in self.chunks:
                acc = _bcast(bd[e] if bd is not None else tirx.const(0, F32), lanes)
                for dy in range(b.k):
                    slot = tirx.floormod(row + dy + b.k - b.halo, b.k)
                    for dx in range(b.k):
                        acc = acc + _bcast(wd[e, 0, dy, dx], lanes) * self.ring[slot, e, _ramp(w0 + dx, lanes)]
                self.drow[e, _ramp(w0, lanes)] = _apply(b.steps[1], acc, None)

    def project(self, n, row):
        b, (w3, b3) = self.b, self.b.weights[2]

        def put(o, w0, lanes, v):
            res = b.residual[n, o, row, _ramp(w0, lanes)] if b.residual is not None else None
            b.y[n, o, row, _ramp(w0, lanes)] = _apply(b.steps[2], v, res)

        self._pointwise(b.outs, b.expanded, w3, b3, lambda e, w0, lanes: self.drow[e, _ramp(w0, lanes)], put)

    def _tile(self, rows: int) -> tuple[int, int]:
        """(output channels dividing `rows`, width chunks) per register tile: the most FMAs per load."""
        nchunks = len(self.chunks)

        def intensity(t, g):
            return t * nchunks / sum(t + min(g, nchunks - s) for s in range(0, nchunks, g))

        return _best_tile([(t, g) for g in range(1, nchunks + 1) for t in range(1, rows + 1)
                           if rows % t == 0 and t * g + g + 1 <= self.b.registers], intensity)

    def _pointwise(self, rows: int, depth: int, weight, bias, src, store) -> None:
        """out[o, chunk] = bias[o] + sum_k weight[o, k] * src(k, chunk), a tile of accumulators in registers."""
        t, g = self._tile(rows)
        for start in range(0, len(self.chunks), g):
            group = self.chunks[start:start + g]
            at = lambda i, j, n: _ramp((i * g + j) * LANES, n)
            with T.serial(0, rows // t) as ot:
                acc = T.buffer_proxy(T.alloc_local([t * g * LANES], F32))
                for i in range(t):
                    init = bias[ot * t + i] if bias is not None else tirx.const(0, F32)
                    for j, (_, n) in enumerate(group):
                        acc[at(i, j, n)] = _bcast(init, n)
                with T.serial(0, depth) as k:
                    for i in range(t):
                        w = weight[ot * t + i, k, 0, 0]
                        for j, (w0, n) in enumerate(group):
                            acc[at(i, j, n)] = acc[at(i, j, n)] + _bcast(w, n) * src(k, w0, n)
                for i in range(t):
                    for j, (w0, n) in enumerate(group):
                        store(ot * t + i, w0, n, acc[at(i, j, n)])


class ChannelsForm:
    """Vectors along channels; the ring is [slot, halo + width + halo, channel], weights transposed."""

    def __init__(self, b: Block, blocked: bool):
        self.b, self.blocked = b, blocked

    def alloc(self):
        b = self.b
        self.ring = T.buffer_proxy(T.alloc_buffer([b.k, b.width + 2 * b.halo, b.expanded], F32))
        self.drow = T.buffer_proxy(T.alloc_buffer([b.width, b.expanded], F32))
        with T.serial(0, b.k * b.expanded // LANES) as sv:
            slot, e = sv // (b.expanded // LANES), sv % (b.expanded // LANES) * LANES
            for col in b.pad_columns:
                self.ring[slot, col, _ramp(e, LANES)] = _zeros(LANES)

    def expand(self, n, r, slot):
        b, (w1, b1) = self.b, self.b.weights[0]

        def put(w, e, v):
            self.ring[slot, w + b.halo, _ramp(e, LANES)] = _apply(b.steps[0], v, None)

        if self.blocked:
            src = lambda c, w: b.x[n, c // LANES, r, w, c % LANES]
        else:
            src = lambda c, w: b.x[n, c, r, w]
        self._pointwise(b.expanded, b.chans, w1, b1, src, put)

    def zero_row(self, slot):
        with T.serial(0, self.b.width * self.b.expanded // LANES) as wv:
            per = self.b.expanded // LANES
            self.ring[slot, wv // per + self.b.halo, _ramp(wv % per * LANES, LANES)] = _zeros(LANES)

    def depthwise(self, row):
        b, (wd, bd) = self.b, self.b.weights[1]
        with T.serial(0, b.expanded // LANES) as ev:
            e = ev * LANES
            taps = T.buffer_proxy(T.alloc_local([b.k * b.k * LANES], F32))
            for t in range(b.k * b.k):
                taps[_ramp(t * LANES, LANES)] = wd[t, _ramp(e, LANES)]
            with T.serial(0, b.width) as w:
                acc = bd[_ramp(e, LANES)] if bd is not None else _zeros(LANES)
                for dy in range(b.k):
                    slot = tirx.floormod(row + dy + b.k - b.halo, b.k)
                    for dx in range(b.k):
                        tap = taps[_ramp((dy * b.k + dx) * LANES, LANES)]
                        acc = acc + tap * self.ring[slot, w + dx, _ramp(e, LANES)]
                self.drow[w, _ramp(e, LANES)] = _apply(b.steps[1], acc, None)

    def project(self, n, row):
        b, (w3, b3) = self.b, self.b.weights[2]

        def put(w, o, v):
            if self.blocked:
                res = b.residual[n, o // LANES, row, w, _ramp(0, LANES)] if b.residual is not None else None
                b.y[n, o // LANES, row, w, _ramp(0, LANES)] = _apply(b.steps[2], v, res)
                return
            for lane in range(LANES):  # NCHW: the channels of a vector lie a plane apart
                res = b.residual[n, o + lane, row, w] if b.residual is not None else None
                b.y[n, o + lane, row, w] = _apply(b.steps[2], tirx.Shuffle([v], [lane]), res)

        self._pointwise(b.outs, b.expanded, w3, b3, lambda e, w: self.drow[w, e], put)

    def _tile(self, vectors: int) -> tuple[int, int]:
        """(pixels, channel vectors dividing `vectors`) per register tile: the most FMAs per load, the
        last pixel group of a row maybe shorter."""
        width = self.b.width

        def intensity(p, v):
            groups = [min(p, width - s) for s in range(0, width, p)]
            return v * width / sum(q + v for q in groups)

        return _best_tile([(p, v) for v in range(1, vectors + 1) for p in range(1, width + 1)
                           if vectors % v == 0 and p * v + v + 1 <= self.b.registers], intensity)

    def _pointwise(self, outs: int, depth: int, weight, bias, src, store) -> None:
        """out[w, o-vector] = bias + sum_k src(k, w) * weight[k, o-vector] (weight transposed), a tile
        of pixels x channel vectors accumulated in registers."""
        p, v = self._tile(outs // LANES)
        full, tail = divmod(self.b.width, p)
        with T.serial(0, outs // (v * LANES)) as ot:
            o0 = ot * v * LANES
            if full:
                with T.serial(0, full) as pg:
                    self._tile_body(pg * p, p, v, o0, depth, weight, bias, src, store)
            if tail:
                self._tile_body(full * p, tail, v, o0, depth, weight, bias, src, store)

    @staticmethod
    def _tile_body(w0, p: int, v: int, o0, depth: int, weight, bias, src, store) -> None:
        acc = T.buffer_proxy(T.alloc_local([p * v * LANES], F32))
        at = lambda i, j: _ramp((i * v + j) * LANES, LANES)
        for i in range(p):
            for j in range(v):
                acc[at(i, j)] = bias[_ramp(o0 + j * LANES, LANES)] if bias is not None else _zeros(LANES)
        with T.serial(0, depth) as k:
            for i in range(p):
                x = _bcast(src(k, w0 + i), LANES)
                for j in range(v):
                    acc[at(i, j)] = acc[at(i, j)] + x * weight[k, _ramp(o0 + j * LANES, LANES)]
        for i in range(p):
            for j in range(v):
                store(w0 + i, o0 + j * LANES, acc[at(i, j)])


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
