"""Compile-time weight layouts (prepacks): column panels for the right-hand side of a GEMM."""

from __future__ import annotations

import numpy as np
from tvm import te

from ...ir.layouts import channel_block
from .registry import Prepack

# 16 float32 columns: two AVX2 vectors (one AVX-512 vector), the widest register tile the GEMM rule uses.
PANEL_WIDTH = 16


def _panels(n: int) -> int:
    return -(-n // PANEL_WIDTH)


def _pack_kn(b: np.ndarray) -> np.ndarray:
    """[K, N] -> [ceil(N/16), K, 16], zero padded: one contiguous K x 16 panel per 16 columns."""
    k, n = b.shape
    padded = np.zeros((k, _panels(n) * PANEL_WIDTH), b.dtype)
    padded[:, :n] = b
    return np.ascontiguousarray(padded.reshape(k, -1, PANEL_WIDTH).transpose(1, 0, 2))


PANEL_VIEW = "unpack_panel"


def _view(packed: te.Tensor, shape: tuple, transposed: bool) -> te.Tensor:
    w = PANEL_WIDTH
    if transposed:
        return te.compute(shape, lambda n, k: packed[n // w, k, n % w], name=PANEL_VIEW)
    return te.compute(shape, lambda k, n: packed[n // w, k, n % w], name=PANEL_VIEW)


def panel_source(t: te.Tensor) -> te.Tensor | None:
    """The packed [N/16, K, 16] placeholder behind a panel view, or None for any other tensor."""
    return t.op.input_tensors[0] if getattr(t.op, "name", None) == PANEL_VIEW else None


# b as [K, N] (matmul, gemm) and as [N, K] (dense, gemm trans_b) pack to the same panels.
PANEL = Prepack("panel16", _pack_kn, lambda s: (_panels(s[1]), s[0], PANEL_WIDTH),
                lambda t, s: _view(t, s, False))
PANEL_T = Prepack("panel16t", lambda b: _pack_kn(b.T), lambda s: (_panels(s[0]), s[1], PANEL_WIDTH),
                  lambda t, s: _view(t, s, True))


# Output channels a convolution computes per vector: 8 float32 lanes of AVX2.
CHANNEL_BLOCK = 8
CHANNEL_VIEW = "unpack_channel_block"


def _pack_channels(w: np.ndarray) -> np.ndarray:
    """[O, C, *K] -> [O/8, C, *K, 8]: the 8 output channels of a block side by side for each tap."""
    o, rest = w.shape[0], w.shape[1:]
    blocked = w.reshape(o // CHANNEL_BLOCK, CHANNEL_BLOCK, *rest)
    return np.ascontiguousarray(np.moveaxis(blocked, 1, -1))


def _channel_view(packed: te.Tensor, shape: tuple) -> te.Tensor:
    b = CHANNEL_BLOCK
    return te.compute(shape, lambda o, *i: packed[(o // b, *i, o % b)], name=CHANNEL_VIEW)


# A convolution weight [O, C, *K] blocked by output channels: the conv vectorizes along them.
CHANNEL_BLOCKED = Prepack("oc8", _pack_channels, lambda s: (s[0] // CHANNEL_BLOCK, *s[1:], CHANNEL_BLOCK),
                          _channel_view)


def _whole_blocks(n: int) -> int:
    return -(-n // CHANNEL_BLOCK) * CHANNEL_BLOCK


def padded_groups(group: int, og: int) -> Prepack:
    """CHANNEL_BLOCKED for a grouped weight whose og output channels per group are no multiple of 8:
    each group zero-padded to whole blocks. The view is the padded weight [g * ceil8(og), C/g, *K];
    the conv computes the padded channels and drops them."""
    ogw = _whole_blocks(og)

    def pack(w: np.ndarray) -> np.ndarray:
        padded = np.zeros((group, ogw, *w.shape[1:]), w.dtype)
        padded[:, :og] = w.reshape(group, og, *w.shape[1:])
        return _pack_channels(padded.reshape(group * ogw, *w.shape[1:]))

    return Prepack(f"oc8g{group}x{og}", pack, lambda s: (group * ogw // CHANNEL_BLOCK, *s[1:], CHANNEL_BLOCK),
                   lambda t, s: _channel_view(t, (group * ogw, *s[1:])))


# Channel-blocked activations (ir/layouts.py): kernels read them through a logical view and write them
# through a store block, which the schedules inline into their neighbours.
BLOCKED_VIEW = "unpack_blocked"
BLOCKED_STORE = "store_blocked"


def blocked_view(t: te.Tensor, layout: str | None) -> te.Tensor:
    """The logical NCHW tensor behind a placeholder stored as `layout` (itself when plain)."""
    b = channel_block(layout)
    if b is None:
        return t
    n, cb, h, w, _ = (int(d) for d in t.shape)
    return te.compute((n, cb * b, h, w), lambda i, c, y, x: t[i, c // b, y, x, c % b], name=BLOCKED_VIEW)


def blocked_store(t: te.Tensor, layout: str) -> te.Tensor:
    """The logical NCHW tensor t written as `layout`: [N, C/b, H, W, b]."""
    b = channel_block(layout)
    n, c, h, w = (int(d) for d in t.shape)
    return te.compute((n, c // b, h, w, b), lambda i, cb, y, x, k: t[i, cb * b + k, y, x], name=BLOCKED_STORE)
