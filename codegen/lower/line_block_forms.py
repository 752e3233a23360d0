"""The two forms of the line-buffer block kernel (line_block.py), and what both read. Along the width
(RowsForm): plain NCHW maps whose channel counts do not fill whole vectors; the ring holds rows of
channels. Along channels (ChannelsForm): the ring holds rows of pixels, channels innermost, and the
weights come transposed."""

from __future__ import annotations

from dataclasses import dataclass

from tvm import tirx
from tvm.script.ir_builder import tirx as T

LANES = 8  # one 256-bit vector; 512-bit targets keep it and get twice the registers for tiles
F32 = "float32"


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
