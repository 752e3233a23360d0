"""quantize=<scheme>: weight-only quantization of the constant weights of dense, matmul and gemm.

Each float32 weight becomes packed codes typed with a #quant encoding plus per-group scales and
offsets (ir/quantization.py), and its node a quant_dense. Weights whose inputs do not split into
whole groups stay float.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import KernforgeError
from ..ir.bcq import BCQScheme, fit_bcq
from ..ir.bcq import add_params as add_bcq_params
from ..ir.bit_allocation import Budget, allocate, format_table
from ..ir.encodings import QuantEncoding
from ..ir.gptq import quantize_gptq
from ..ir.graph import Module, Node
from ..ir.quantization import WeightScheme, add_params, quantize_rtn
from ..ir.sparse_formats import NMWeight, nm_entries, quantize_nm, unpack_nm
from ..ir.sparsity import add_params as add_nm_params
from ..ir.spqr import SpQRScheme, fit_spqr
from ..ir.spqr import add_params as add_spqr_params
from ..ir.types import TensorType, dtype
from .linear_weights import bias, dense_weight
from .manager import register_pass
from .sparsify import decision_table
from .target_traits import current_traits

W8A8 = "w8a8"
W8A8_CHUNK = 32  # the int8 kernel's vector: layers whose inputs do not split into it stay float


@register_pass("quantize", option="w4g128")
def quantize(module: Module, option: str) -> Module:
    """Weight-only quantization: w<bits>[g<group>][-sym][-gptq], auto:<avg bits>, wbcq<planes>, w3-spqr.

    e.g. w4g128; auto: picks widths per layer; wbcq: binary coding; spqr: small groups plus outliers apart;
    w8a8: int8 weights and activations (static scales from calibration).
    GPTQ schemes need calibration data: see quantize_module."""
    return quantize_module(module, option)


def quantize_module(module: Module, option: str, hessians: dict[int, np.ndarray] | None = None,
                    absmax: dict[int, float] | None = None,
                    output_errors: dict[int, list[float]] | None = None) -> Module:
    """The quantize pass; hessians (id(node) -> X^T X of its inputs, see quantize_targets) feed GPTQ,
    absmax (id(node) -> max |input|) W8A8's static activation scales, and output_errors (id(node) ->
    the model's output error per width, passes/quantize_sensitivity.py) the auto: allocation."""
    if option.strip() == W8A8:
        return _w8a8(module, absmax)
    bcq, spqr = BCQScheme.parse(option), SpQRScheme.parse(option)
    if bcq is not None or spqr is not None:
        return _other_codes(module, bcq or spqr)
    budget = Budget.parse(option)
    targets = quantize_targets(module, option_group(option))
    sparse = [n for f in module.functions.values() for n in f.nodes if n.op == "nm_linear"]
    if sparse and (budget or WeightScheme.parse(option).gptq):
        raise KernforgeError(f"quantize={option}: N:M sparse weights take round-to-nearest schemes only (e.g. w4g64)")
    uniform = lambda: [WeightScheme.parse(option)] * len(targets)
    schemes = _mixed(targets, budget, hessians, output_errors) if budget else uniform()
    if any(s.gptq for s in schemes) and hessians is None:
        raise KernforgeError(f"quantize={option}: GPTQ needs calibration inputs; use "
                             f"kernforge.compile(model, quantize='{option}', calibration=[inputs, ...])")
    for (node, weight), scheme in zip(targets, schemes):
        q = quantize_gptq(weight, hessians[id(node)], scheme) if scheme.gptq else quantize_rtn(weight, scheme)
        x, b = node.operands[0], bias(node)
        node.operands = [x, *add_params(module, node.operands[1].name, q), *([b] if b is not None else [])]
        node.op, node.attrs = "quant_dense", {"bits": scheme.bits, "group": scheme.group,
                                              "act_bits": 8 if scheme.a8 else 0}
    dense = [n for n in sparse if _dense_is_faster(n, WeightScheme.parse(option))]
    if dense:
        shapes = [((n.attrs["outputs"], n.operands[0].type.shape[-1]), f"{n.attrs['n']}:{n.attrs['m']} kept dense")
                  for n in dense]
        print(f"quantize {option}: this target's dense low-bit GEMV is faster than N:M here\n"
              f"{decision_table(shapes)}", file=sys.stderr)
    for node in sparse:
        (_quantize_dense_instead if node in dense else _quantize_nm)(module, node, WeightScheme.parse(option))
    return module


def _dense_is_faster(node: Node, scheme: WeightScheme) -> bool:
    """Whether the target's dense kernel for this quantized GEMV beats the N:M one (target_traits)."""
    fast, x = current_traits().dense_low_bit_gemv, node.operands[0].type
    if fast is None or scheme.gptq or node.attrs["axis"] % x.rank != x.rank - 1 or not x.is_static:
        return False
    return fast.covers(scheme.bits, int(np.prod(x.shape[:-1])), x.shape[-1], scheme.group)


def _quantize_dense_instead(module: Module, node: Node, scheme: WeightScheme) -> None:
    """nm_linear -> quant_dense of its dense (pruned) weight, quantized as the scheme says."""
    x, values, index_words, *rest = node.operands
    a = node.attrs
    shape = (a["outputs"], x.type.shape[-1])
    w = unpack_nm(np.asarray(values.data), np.asarray(index_words.data), a["n"], a["m"], shape)
    node.operands = [x, *add_params(module, values.name.removesuffix("_nm"), quantize_rtn(w, scheme)), *rest]
    node.op, node.attrs = "quant_dense", {"bits": scheme.bits, "group": scheme.group, "act_bits": 0}


def _quantize_nm(module: Module, node: Node, scheme: WeightScheme) -> None:
    """nm_linear -> nm_quant_linear: the kept values quantized in groups that span `group` inputs."""
    x, values, index_words, *rest = node.operands
    a = node.attrs
    k = x.type.shape[a["axis"] % x.type.rank]
    group = scheme.group * a["n"] // a["m"]
    if scheme.group * a["n"] % a["m"] or nm_entries(a["n"], a["m"], k) % (group or 1) or group % 8:
        return  # kept entries that do not split into whole groups stay float
    packed = NMWeight(np.asarray(values.data), np.asarray(index_words.data), a["n"], a["m"], (a["outputs"], k))
    q = quantize_nm(packed, WeightScheme(scheme.bits, group, scheme.symmetric))
    codes, scales, offsets = add_nm_params(module, values.name.removesuffix("_nm"), q)
    node.operands = [x, codes, index_words, scales, offsets, *rest]
    node.op, node.attrs = "nm_quant_linear", {**a, "bits": scheme.bits, "group": group}


def _other_codes(module: Module, scheme: BCQScheme | SpQRScheme) -> Module:
    """wbcq<k>[g<group>] (a sum of k scaled binary planes, bcq_dense) or w<bits>[g<group>]-spqr (small
    groups, quantized scales, outliers apart: spqr_dense) for each dense weight."""
    if any(n.op == "nm_linear" for f in module.functions.values() for n in f.nodes):
        raise KernforgeError(f"quantize={scheme}: N:M sparse weights take round-to-nearest schemes only (e.g. w4g64)")
    for node, weight in quantize_targets(module, scheme.group):
        x, b, name = node.operands[0], bias(node), node.operands[1].name
        if isinstance(scheme, BCQScheme):
            params = add_bcq_params(module, name, fit_bcq(weight, scheme), scheme.group)
            node.op, node.attrs = "bcq_dense", {"planes": scheme.planes, "group": scheme.group}
        else:
            q = fit_spqr(weight, scheme)
            params = add_spqr_params(module, name, q)
            node.op = "spqr_dense"
            node.attrs = {"bits": scheme.bits, "group": scheme.group, "row_outliers": int(np.diff(q.ptr).max())}
        node.operands = [x, *params, *([b] if b is not None else [])]
    return module


def _w8a8(module: Module, absmax: dict[int, float] | None) -> Module:
    """int8 weights per output channel, int8 activations on a static scale from calibration: int8_dense."""
    if absmax is None:
        raise KernforgeError("quantize=w8a8: static activation scales need calibration inputs; use "
                             "kernforge.compile(model, quantize='w8a8', calibration=[inputs, ...])")
    for node, weight in quantize_targets(module, W8A8_CHUNK):
        x, b = node.operands[0], bias(node)
        scales = (np.abs(weight).max(axis=1) / 127).astype(np.float32)
        scales = np.where(scales > 0, scales, np.float32(1)).astype(np.float32)
        codes = np.clip(np.rint(weight / scales[:, None]), -127, 127).astype(np.int8)
        enc = QuantEncoding(bits=8, group=0, axis=1, scale=dtype("f32"))
        name = node.operands[1].name
        w = module.add_param(f"{name}_i8", codes, TensorType(codes.shape, dtype("i8"), encoding=enc))
        node.operands = [x, w, module.add_param(f"{name}_scales", scales), *([b] if b is not None else [])]
        peak = absmax.get(id(node), 0.0)
        node.op, node.attrs = "int8_dense", {"x_scale": float(np.float32(peak / 127)) if peak > 0 else 1.0}
    return module


def option_group(option: str) -> int:
    """The group size a quantize option asks for (validating the option)."""
    if option.strip() == W8A8:
        return W8A8_CHUNK
    other = BCQScheme.parse(option) or SpQRScheme.parse(option)
    if other is not None:
        return other.group
    budget = Budget.parse(option)
    return budget.group if budget else WeightScheme.parse(option).group


def quantize_targets(module: Module, group: int) -> list[tuple[Node, np.ndarray]]:
    """The nodes the pass rewrites for groups of `group` inputs, each with its weight as [N, K]."""
    found = [(node, lw.weight) for func in module.functions.values() for node in func.nodes
             for lw in [dense_weight(node)] if lw is not None]
    return [(node, w) for node, w in found if w.shape[1] % (group or w.shape[1]) == 0]


def _mixed(targets: list, budget: Budget, hessians: dict[int, np.ndarray] | None,
           output_errors: dict[int, list[float]] | None) -> list[WeightScheme]:
    """Per-layer schemes within the budget; prints the chosen table (stderr)."""
    names = [f"{node.operands[1].name}#{i}" for i, (node, _) in enumerate(targets)]
    by_name = {n: hessians[id(node)] for n, (node, _) in zip(names, targets)} if hessians else None
    measured = {n: output_errors[id(node)] for n, (node, _) in zip(names, targets)} if output_errors else None
    choices = allocate(dict(zip(names, (w for _, w in targets))), budget, by_name, measured=measured)
    print(f"quantize auto:{budget.average_bits:g}g{budget.group}\n{format_table(choices, budget.group)}",
          file=sys.stderr)
    return [WeightScheme(choices[n].bits, budget.group) for n in names]
