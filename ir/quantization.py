"""Group-wise weight quantization math (NumPy only): schemes, round-to-nearest, and bit packing.

A weight [N, K] (N outputs, K inputs) is cut into groups of `group` inputs per output. Each group
has a float32 scale and a float32 offset so that w ~= code * scale + offset, with integer codes in
[0, 2**bits). Codes are packed along K, 32 // bits to a uint32 word, in blocks of 8 interleaved words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError

BITS = (2, 3, 4, 8)
_SCHEME = re.compile(r"w(?P<bits>\d+)(?:g(?P<group>\d+))?(?P<sym>-sym)?(?P<gptq>-gptq)?(?P<a8>-a8)?")
# int8 activations pair with 4-bit codes in blocks of 64 (one vector of packed words)
A8_BLOCK = 64


@dataclass(frozen=True)
class WeightScheme:
    """Weight quantization: bits per weight, inputs per group (0: one group per row), symmetry, and the
    rounding: to nearest, or GPTQ's error compensation (ir/gptq.py, needs calibration data). With a8,
    the kernel also rounds each group of activations to int8 (dynamic, per group) and multiplies in
    integers, as llama.cpp's Q4 x Q8 does: 4-bit codes and groups of a multiple of 64 only."""

    bits: int
    group: int = 0
    symmetric: bool = False
    gptq: bool = False
    a8: bool = False

    def __post_init__(self):
        if self.bits not in BITS:
            raise KernforgeError(f"weight quantization to {self.bits} bits is not supported; use one of {BITS}")
        if self.group < 0 or self.group % 8:
            raise KernforgeError(f"group {self.group} must be a multiple of 8 (0: one group per row)")
        if self.a8 and (self.bits != 4 or not self.group or self.group % A8_BLOCK):
            raise KernforgeError(f"{self}: int8 activations (-a8) need 4-bit codes in groups of a multiple of "
                                 f"{A8_BLOCK} (e.g. w4g128-a8)")

    def __str__(self) -> str:
        return (f"w{self.bits}" + (f"g{self.group}" if self.group else "") + ("-sym" if self.symmetric else "")
                + ("-gptq" if self.gptq else "") + ("-a8" if self.a8 else ""))

    @staticmethod
    def parse(text: str) -> WeightScheme:
        """'w4g128', 'w8', 'w3g64-sym', 'w4g128-gptq', ...; a clear error for anything else."""
        m = _SCHEME.fullmatch(text.strip())
        if m is None:
            raise KernforgeError(f"unknown quantization scheme '{text}'; expected w<bits>[g<group>][-sym][-gptq], "
                                 "e.g. w4g128, w8, w3g64-sym, w4g128-gptq")
        return WeightScheme(int(m["bits"]), int(m["group"] or 0), bool(m["sym"]), bool(m["gptq"]), bool(m["a8"]))


@dataclass(frozen=True)
class QuantizedWeight:
    """Packed codes [N, words_per_row] uint32, scales and offsets [N, groups] float32."""

    words: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray
    scheme: WeightScheme
    in_features: int

    def dequantize(self) -> np.ndarray:
        return dequantize(self.words, self.scales, self.offsets, self.scheme.bits, self.scheme.group,
                          self.in_features)


def dequantize(words, scales, offsets, bits: int, group: int, in_features: int, dtype=np.float32) -> np.ndarray:
    """[N, K] weights code * scale + offset, per group of `group` inputs (0: the whole row), in dtype."""
    codes = unpack(words, bits, in_features).astype(dtype)
    g = group or in_features
    return codes * np.repeat(scales.astype(dtype), g, axis=1) + np.repeat(offsets.astype(dtype), g, axis=1)


def quantize_activations(x: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """x [..., K] float32 -> int8 codes and float32 scales [..., K / group]: each group rounded (half to
    even) on a symmetric grid of +-127 steps of max|x| / 127 (1 for an all-zero group)."""
    g = x.reshape(*x.shape[:-1], -1, group).astype(np.float32)
    peak = np.abs(g).max(axis=-1)
    scale = np.where(peak > 0, peak / np.float32(127), np.float32(1)).astype(np.float32)
    codes = np.clip(np.rint(g / scale[..., None]), -127, 127).astype(np.int8)
    return codes.reshape(x.shape), scale


def group_size(scheme: WeightScheme, in_features: int) -> int:
    return scheme.group or in_features


def group_grid(groups: np.ndarray, scheme: WeightScheme) -> tuple[np.ndarray, np.ndarray]:
    """float32 scale and offset of each group (last axis): min..max with zero exact, or +-absmax."""
    if scheme.symmetric:
        half = 1 << (scheme.bits - 1)
        scale = np.abs(groups).max(axis=-1) / max(1, half - 1)
        scale = np.where(scale == 0, 1.0, scale)
        offset = -half * scale
    else:
        lo, hi = np.minimum(groups.min(axis=-1), 0), np.maximum(groups.max(axis=-1), 0)
        scale = np.where(hi > lo, (hi - lo) / ((1 << scheme.bits) - 1), 1.0)
        offset = np.round(lo / scale) * scale  # zero stays exactly representable
    return scale.astype(np.float32), offset.astype(np.float32)


def nearest_codes(w: np.ndarray, scale: np.ndarray, offset: np.ndarray, bits: int) -> np.ndarray:
    """The grid level nearest to each weight, as codes (scale and offset broadcast against w)."""
    return np.clip(np.rint((w - offset) / scale), 0, (1 << bits) - 1).astype(np.uint32)


def quantize_rtn(w: np.ndarray, scheme: WeightScheme) -> QuantizedWeight:
    """Round each weight to the nearest level of its group's grid (min..max, or +-absmax if symmetric)."""
    n, k = w.shape
    g = group_size(scheme, k)
    if k % g:
        raise KernforgeError(f"{k} inputs do not split into groups of {g}")
    groups = w.astype(np.float64).reshape(n, k // g, g)
    scale, offset = group_grid(groups, scheme)
    codes = nearest_codes(groups, scale[..., None].astype(np.float64), offset[..., None].astype(np.float64),
                          scheme.bits)
    return QuantizedWeight(pack(codes.reshape(n, k), scheme.bits), scale, offset, scheme, k)


LANES = 8  # words interleaved per block: one 8 x 32-bit vector


def words_per_row(bits: int, in_features: int) -> int:
    block = LANES * (32 // bits)
    return -(-in_features // block) * LANES


def pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """[N, K] codes < 2**bits -> [N, words_per_row] uint32. Blocks of 8 words hold 8 * (32 // bits)
    codes: code k = block * 8 * per + s * 8 + lane sits in word `lane` at bit s * bits, so that one
    shift and mask of a block gives 8 consecutive codes (the kernel's vector lanes)."""
    per = 32 // bits
    n, k = codes.shape
    padded = np.zeros((n, words_per_row(bits, k) * per), np.uint32)
    padded[:, :k] = codes
    planes = padded.reshape(n, -1, per, LANES) << (np.arange(per, dtype=np.uint32) * bits)[:, None]
    return np.bitwise_or.reduce(planes, axis=2).reshape(n, -1).astype(np.uint32)


def unpack(words: np.ndarray, bits: int, in_features: int) -> np.ndarray:
    """The inverse of pack: [N, K] codes as uint32."""
    per = 32 // bits
    shifts = (np.arange(per, dtype=np.uint32) * bits)[:, None]
    blocks = words.reshape(words.shape[0], -1, 1, LANES)
    codes = (blocks >> shifts) & np.uint32((1 << bits) - 1)
    return codes.reshape(words.shape[0], -1)[:, :in_features]


def add_params(module, name: str, q: QuantizedWeight) -> list:
    """Module params for a quantized weight: the packed words (typed #quant), scales and offsets."""
    from .encodings import QuantEncoding
    from .types import TensorType, dtype

    s = q.scheme
    enc = QuantEncoding(bits=s.bits, group=s.group, axis=1, scale=dtype("f32"), zero=dtype("f32"))
    words = module.add_param(f"{name}_{s.bits}b", q.words, TensorType(q.words.shape, dtype("u32"), encoding=enc))
    return [words, module.add_param(f"{name}_scales", q.scales), module.add_param(f"{name}_offsets", q.offsets)]
