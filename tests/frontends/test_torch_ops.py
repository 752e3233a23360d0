"""One tiny module per mapped ATen op: export, check the op is really in the decomposed graph,
import, interpret, and compare with torch eager."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from kernforge.frontends.torch import export_program, import_program  # noqa: E402
from kernforge.frontends.torch_ops import CONVERTERS  # noqa: E402
from kernforge.ir import interpret  # noqa: E402
from kernforge.ir.verifier import verify  # noqa: E402

from .torch_models import Fn  # noqa: E402

_RNG = np.random.default_rng(0)


def f(*shape, lo=-2.0, hi=2.0):
    return torch.from_numpy(_RNG.uniform(lo, hi, size=shape).astype(np.float32))


def i(*shape, lo=-5, hi=5, dtype=torch.int64):
    return torch.from_numpy(_RNG.integers(lo, hi + 1, size=shape)).to(dtype)


def b(*shape):
    return torch.from_numpy(_RNG.random(shape) > 0.5)


@dataclass
class OpCase:
    aten: str  # the packet that must appear in the decomposed graph, e.g. "add"
    fn: Callable
    inputs: list
    id: str = ""
    rtol: float = 1e-4
    atol: float = 1e-5


V, W = f(2, 3), f(3)
POS = f(2, 3, lo=0.1, hi=3.0)
UNIT = f(2, 3, lo=-0.9, hi=0.9)
IMG, IMG3 = f(1, 3, 8, 8), f(1, 2, 4, 6, 6)
IDX = i(2, 3, lo=0, hi=2)
K1D, K2D, K3D = f(4, 3, 3), f(4, 3, 3, 3), f(3, 2, 3, 3, 3)
TABLE = f(5, 4)
DEPTHWISE, TRANSPOSED, BIAS = f(6, 1, 3, 3), f(3, 2, 3, 3), f(4)

CASES = [
    # binary arithmetic, with broadcasting, scalars and promotion
    OpCase("add", lambda x, y: x + y, [V, W]),
    OpCase("add", lambda x: torch.add(x, x, alpha=3) + 1, [V], id="add-alpha-scalar"),
    OpCase("add", lambda x: x + 1.5, [i(2, 3)], id="add-int-float-promotes"),
    OpCase("sub", lambda x, y: x - y, [V, W]),
    OpCase("mul", lambda x, y: x * y, [V, W]),
    OpCase("div", lambda x, y: x / y, [V, POS]),
    OpCase("div", lambda x: x / 2, [i(2, 3)], id="div-int-true"),
    OpCase("div", lambda x: torch.div(x, 3, rounding_mode="floor"), [i(2, 3)], id="div-int-floor"),
    OpCase("div", lambda x: torch.div(x, 3, rounding_mode="trunc"), [i(2, 3)], id="div-int-trunc"),
    OpCase("div", lambda x: torch.div(x, 0.7, rounding_mode="floor"), [V], id="div-float-floor"),
    OpCase("div", lambda x: torch.div(x, 0.7, rounding_mode="trunc"), [V], id="div-float-trunc"),
    OpCase("maximum", torch.maximum, [V, W]),
    OpCase("minimum", torch.minimum, [V, W]),
    OpCase("remainder", lambda x: x % 1.5, [V]),
    OpCase("remainder", lambda x: x % 3, [i(2, 3)], id="remainder-int"),
    OpCase("fmod", lambda x: x.fmod(1.5), [V]),
    OpCase("fmod", lambda x: x.fmod(3), [i(2, 3)], id="fmod-int"),
    OpCase("pow", lambda x: x ** 3, [V]),
    OpCase("pow", lambda x: x ** 2, [V], id="pow-square"),
    OpCase("pow", lambda x, y: x ** y, [POS, V], id="pow-tensor"),
    OpCase("pow", lambda x: 2 ** x, [V], id="pow-scalar-base"),
    OpCase("atan2", torch.atan2, [V, W]),
    OpCase("hypot", torch.hypot, [V, W]),
    # comparisons and logic
    *[OpCase(name, fn, [V, W]) for name, fn in [
        ("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le), ("gt", torch.gt), ("ge", torch.ge)]],
    OpCase("eq", lambda x: x == 2, [i(2, 3)], id="eq-int-scalar"),
    OpCase("lt", lambda x: x < 0.5, [i(2, 3)], id="lt-int-float-scalar"),
    OpCase("logical_and", torch.logical_and, [b(2, 3), b(3)]),
    OpCase("logical_or", torch.logical_or, [V, W], id="logical_or-floats"),
    OpCase("logical_xor", torch.logical_xor, [b(2, 3), b(2, 3)]),
    OpCase("logical_not", torch.logical_not, [V]),
    OpCase("bitwise_and", lambda x, y: x & y, [b(2, 3), b(3)]),
    OpCase("bitwise_and", lambda x: x & 6, [i(2, 3, lo=-9, hi=9)], id="bitwise_and-int"),
    OpCase("bitwise_or", lambda x, y: x | y, [b(2, 3), b(2, 3)]),
    OpCase("bitwise_xor", lambda x: x ^ 5, [i(2, 3)], id="bitwise_xor-int"),
    OpCase("bitwise_not", lambda x: ~x, [b(2, 3)]),
    OpCase("bitwise_not", lambda x: ~x, [i(2, 3, dtype=torch.int32)], id="bitwise_not-int"),
    OpCase("where", lambda c, x, y: torch.where(c, x, y), [b(2, 3), V, W]),
    OpCase("where", lambda x: torch.where(x > 0, x, 0.0), [V], id="where-scalar"),
    # unary math
    *[OpCase(name, getattr(torch, name), [V]) for name in [
        "abs", "neg", "sign", "exp", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "floor", "ceil",
        "sinh", "cosh", "atan", "asinh", "round", "trunc", "expm1", "exp2"]],
    *[OpCase(name, getattr(torch, name), [POS]) for name in [
        "log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10"]],
    *[OpCase(name, getattr(torch, name), [UNIT]) for name in ["asin", "acos", "atanh"]],
    OpCase("acosh", torch.acosh, [POS + 1]),
    OpCase("round", lambda x: x.round(decimals=1), [V], id="round-decimals"),
    OpCase("abs", torch.abs, [i(2, 3)], id="abs-int"),
    OpCase("exp", torch.exp, [i(2, 3)], id="exp-int-promotes"),
    OpCase("isnan", torch.isnan, [torch.tensor([1.0, float("nan"), float("inf")])]),
    OpCase("isinf", torch.isinf, [torch.tensor([1.0, float("-inf"), float("inf")])]),
    # activations
    OpCase("relu", torch.relu, [V]),
    OpCase("gelu", F.gelu, [V]),
    OpCase("gelu", lambda x: F.gelu(x, approximate="tanh"), [V], id="gelu-tanh"),
    OpCase("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [V]),
    OpCase("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), [V]),
    OpCase("hardtanh", F.relu6, [V * 4], id="hardtanh-relu6"),
    OpCase("elu", lambda x: F.elu(x, 0.7), [V]),
    OpCase("elu", F.selu, [V], id="elu-selu-scales"),
    OpCase("clamp", lambda x: x.clamp(-0.5, 0.5), [V]),
    OpCase("clamp", lambda x: x.clamp(min=x * 0.5), [V], id="clamp-tensor"),
    OpCase("clamp", lambda x: x.clamp(0, 2), [i(2, 3)], id="clamp-int"),
    # reductions
    OpCase("sum", lambda x: x.sum(1), [V]),
    OpCase("sum", lambda x: x.sum(), [V], id="sum-all"),
    OpCase("sum", lambda x: x.sum(1), [b(2, 3)], id="sum-bool"),
    OpCase("mean", lambda x: x.mean((0, 2), keepdim=True), [f(2, 3, 4)]),
    OpCase("mean", lambda x: x.mean(), [V], id="mean-all"),
    OpCase("amax", lambda x: x.amax(1), [V]),
    OpCase("amin", lambda x: x.amin(0, keepdim=True), [V]),
    OpCase("prod", lambda x: x.prod(1), [V]),
    OpCase("prod", lambda x: x.prod(), [V], id="prod-all"),
    OpCase("any", lambda x: x.any(1), [b(2, 3)]),
    OpCase("any", lambda x: x.all(), [b(2, 3)], id="any-all"),
    OpCase("var", lambda x: x.var(1), [V]),
    OpCase("var", lambda x: x.var(unbiased=False), [V], id="var-all-biased"),
    OpCase("var_mean", lambda x: torch.var_mean(x, 1), [V]),
    OpCase("max", lambda x: x.max(1), [V]),
    OpCase("max", lambda x: x.max(), [V], id="max-all"),
    OpCase("min", lambda x: x.min(0, keepdim=True), [V]),
    OpCase("min", lambda x: x.min(), [V], id="min-all"),
    OpCase("argmax", lambda x: x.argmax(1), [V]),
    OpCase("argmax", lambda x: x.argmax(), [V], id="argmax-all"),
    OpCase("argmin", lambda x: x.argmin(0), [V]),
    OpCase("cumsum", lambda x: x.cumsum(1), [V]),
    OpCase("cumsum", lambda x: x.cumsum(0), [b(4)], id="cumsum-bool"),
    OpCase("_softmax", lambda x: x.softmax(1), [V]),
    OpCase("_log_softmax", lambda x: x.log_softmax(0), [V]),
    OpCase("topk", lambda x: x.topk(2, 1), [V]),
    OpCase("topk", lambda x: x.topk(2, 0, largest=False), [f(4, 3)], id="topk-smallest"),
    OpCase("sort", lambda x: x.sort(1), [V]),
    OpCase("sort", lambda x: x.sort(0, descending=True), [f(4, 3)], id="sort-descending"),
    OpCase("linalg_vector_norm", lambda x: x.norm(dim=1), [V]),
    OpCase("linalg_vector_norm", lambda x: torch.linalg.vector_norm(x, 1), [V], id="norm-l1"),
    OpCase("linalg_vector_norm", lambda x: torch.linalg.vector_norm(x, float("inf"), 0), [V], id="norm-inf"),
    OpCase("linalg_vector_norm", lambda x: torch.linalg.vector_norm(x, 3, 1, keepdim=True), [V], id="norm-p3"),
    # matrix products and convolution
    OpCase("mm", lambda x, y: x @ y, [V, f(3, 4)]),
    OpCase("mm", lambda x: F.linear(x, TABLE[:, :3]), [V], id="mm-linear-no-bias"),
    OpCase("bmm", lambda x, y: x @ y, [f(2, 3, 4), f(2, 4, 5)]),
    OpCase("addmm", lambda x: F.linear(x, TABLE[:, :3], TABLE[:, 3]), [V]),
    OpCase("addmm", lambda x, y, z: torch.addmm(z, x, y, beta=0.5, alpha=2.0), [V, f(3, 4), f(4)], id="addmm-scaled"),
    OpCase("convolution", lambda x: F.conv1d(x, K1D, stride=2, padding=1), [f(1, 3, 9)], id="conv1d"),
    OpCase("convolution", lambda x: F.conv2d(x, K2D, BIAS, padding=1, dilation=2)[:, :, 1:], [IMG], id="conv2d"),
    OpCase("convolution", lambda x: F.conv2d(x, DEPTHWISE, groups=3), [IMG], id="conv2d-depthwise"),
    OpCase("convolution", lambda x: F.conv3d(x, K3D[:, :, :2], padding=(0, 1, 1)), [IMG3], id="conv3d"),
    OpCase("convolution", lambda x: F.conv_transpose2d(x, TRANSPOSED, stride=2, padding=1, output_padding=1),
           [IMG], id="conv_transpose2d"),
    # normalization
    OpCase("native_layer_norm", lambda x: F.layer_norm(x, (4,), W.repeat(2)[:4], W.repeat(2)[1:5]), [f(2, 3, 4)]),
    OpCase("native_layer_norm", lambda x: F.layer_norm(x, (3, 4)), [f(2, 3, 4)], id="layer_norm-plain"),
    OpCase("_native_batch_norm_legit_no_training",
           lambda x: F.batch_norm(x, W * 0.1, W.abs() + 0.5, W, -W, eps=1e-3), [IMG]),
    OpCase("_native_batch_norm_legit", lambda x: F.instance_norm(x, weight=W, bias=-W), [IMG], id="instance_norm"),
    OpCase("_native_batch_norm_legit", lambda x: F.batch_norm(x, None, None, W, W + 1, training=True), [IMG],
           id="batch_norm-training"),
    OpCase("native_group_norm", lambda x: F.group_norm(x, 3, W, -W), [IMG]),
    OpCase("native_group_norm", lambda x: F.group_norm(x, 1), [IMG], id="group_norm-plain"),
    # pooling and resizing
    OpCase("max_pool2d_with_indices", lambda x: F.max_pool2d(x, 3, 2, 1), [IMG]),
    OpCase("max_pool2d_with_indices", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), [f(1, 2, 9, 9)], id="max_pool-ceil"),
    OpCase("max_pool2d_with_indices", lambda x: F.max_pool1d(x, 2), [f(1, 3, 8)], id="max_pool1d"),
    OpCase("max_pool3d_with_indices", lambda x: F.max_pool3d(x, 2), [IMG3]),
    OpCase("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), [IMG]),
    OpCase("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False, ceil_mode=True), [f(1, 2, 8, 8)],
           id="avg_pool-exclude-pad-ceil"),
    OpCase("avg_pool3d", lambda x: F.avg_pool3d(x, 2), [IMG3]),
    OpCase("_adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 4)), [IMG]),
    OpCase("_adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, 2), [IMG3]),
    OpCase("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, 2), [IMG]),
    OpCase("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, 1), [IMG], id="adaptive_max_pool-global"),
    OpCase("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, (2, 2, 3)), [IMG3]),
    OpCase("upsample_nearest2d", lambda x: F.interpolate(x, scale_factor=2), [f(1, 2, 3, 4)]),
    OpCase("upsample_nearest2d", lambda x: F.interpolate(x, size=(5, 7)), [f(1, 2, 3, 4)], id="nearest-size"),
    OpCase("upsample_bilinear2d", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), [f(1, 2, 3, 4)]),
    OpCase("upsample_bilinear2d", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
           [f(1, 2, 3, 4)], id="bilinear-align-corners"),
    # shapes and layout
    OpCase("view", lambda x: x.reshape(3, 2), [V]),
    OpCase("permute", lambda x: x.permute(2, 0, 1), [f(2, 3, 4)]),
    OpCase("expand", lambda x: x[:, :1].expand(2, 5), [V]),
    OpCase("expand", lambda x: x.unsqueeze(0).expand(4, -1, -1), [V], id="expand-new-dim"),
    OpCase("squeeze", lambda x: x[:, :1].squeeze(), [V]),
    OpCase("squeeze", lambda x: x.squeeze(1), [V], id="squeeze-not-one"),
    OpCase("unsqueeze", lambda x: x.unsqueeze(-1), [V]),
    OpCase("cat", lambda x, y: torch.cat([x, y], 0), [V, f(1, 3)]),
    OpCase("cat", lambda x, y: torch.cat([x, y], 1), [V, i(2, 2)], id="cat-mixed-dtypes"),
    OpCase("split_with_sizes", lambda x: x.split([1, 3], 1), [f(2, 4)]),
    OpCase("split_with_sizes", lambda x: x.chunk(2, 0), [f(4, 3)], id="chunk"),
    OpCase("slice", lambda x: x[:, 1:], [V]),
    OpCase("slice", lambda x: x[:, ::2], [f(2, 5)], id="slice-step"),
    OpCase("slice", lambda x: x[-2:, :-1], [f(4, 3)], id="slice-negative"),
    OpCase("select", lambda x: x[:, 1], [V]),
    OpCase("select", lambda x: x[-1], [V], id="select-last"),
    OpCase("constant_pad_nd", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [V]),
    OpCase("flip", lambda x: x.flip(0, 2), [f(2, 3, 4)]),
    OpCase("repeat", lambda x: x.repeat(2, 1, 3), [V]),
    OpCase("clone", lambda x: x.t().contiguous(), [V]),
    OpCase("alias", lambda x: x.detach() + 1, [V]),
    OpCase("_to_copy", lambda x: x.to(torch.int32), [V * 3]),
    OpCase("_to_copy", lambda x: x.float() / 3, [i(2, 3)], id="to_float"),
    OpCase("copy", lambda x: x.clone().copy_(x[0]), [V]),
    OpCase("_assert_tensor_metadata", lambda x: x.to(torch.int32), [V * 3]),
    OpCase("_assert_async", lambda x: F.one_hot(x, 4), [i(5, lo=0, hi=3)], id="one_hot"),
    # factories
    OpCase("full", lambda x: x + torch.zeros(3), [V]),
    OpCase("full_like", lambda x: torch.ones_like(x) + x, [V]),
    OpCase("scalar_tensor", lambda x: x.masked_fill(x > 0, 0.5), [V]),
    OpCase("empty", lambda x: torch.empty(2, 3).fill_(1.0) + x, [V]),
    OpCase("empty_strided", lambda x: torch.empty_strided((2, 3), (3, 1)).fill_(0) + x, [V]),
    OpCase("empty_permuted", lambda x: torch.empty_like(x).fill_(2) * x, [V]),
    OpCase("arange", lambda x: x + torch.arange(3), [V]),
    OpCase("arange", lambda x: x + torch.arange(0.5, 2.0, 0.5), [V], id="arange-float"),
    # indexing
    OpCase("embedding", lambda x: F.embedding(x, TABLE), [i(2, 3, lo=0, hi=4)]),
    OpCase("index_select", lambda x: x.index_select(1, torch.tensor([2, 0])), [V]),
    OpCase("gather", lambda x, idx: x.gather(1, idx), [V, IDX]),
    OpCase("index", lambda x: x[torch.tensor([1, -1])], [f(3, 2)]),
    OpCase("index", lambda x: x[torch.tensor([1, 0]), torch.tensor([[2], [-1]])], [f(2, 3, 2)], id="index-multi"),
    OpCase("index", lambda x: F.pad(x, (1, 1, 2, 1), mode="reflect"), [IMG], id="index-reflect-pad"),
    OpCase("index", lambda x: F.pad(x, (1, 1, 1, 1), mode="replicate"), [IMG], id="index-replicate-pad"),
    OpCase("index_put", lambda x: x.index_put((torch.tensor([0, 2]),), torch.tensor(5.0)), [f(3, 2)]),
    OpCase("index_put", lambda x: x.index_put((torch.tensor([0, 2]), torch.tensor([1, 0])), torch.tensor([1.0, 2.0]),
                                              accumulate=True), [f(3, 2)], id="index_put-accumulate"),
    OpCase("scatter", lambda x, idx: x.scatter(1, idx, 1.5), [V, IDX], id="scatter-value"),
    OpCase("scatter", lambda x, idx: x.scatter(1, idx[:, :2], -x), [V, IDX], id="scatter-src"),
    OpCase("scatter_add", lambda x, idx: x.scatter_add(1, idx, x), [V, IDX]),
    OpCase("scatter_reduce", lambda x, idx: x.scatter_reduce(1, idx, x, "amax"), [V, IDX]),
    OpCase("slice_scatter", lambda x: torch.slice_scatter(x, torch.zeros(2, 2), 1, 1, 3), [f(2, 4)]),
]


def _packets(ep) -> set[str]:
    return {str(n.target.overloadpacket).removeprefix("aten.") for n in ep.graph.nodes
            if n.op == "call_function" and hasattr(n.target, "overloadpacket")}


def _id(c: OpCase) -> str:
    return c.id or c.aten


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_op_matches_eager(case):
    module = Fn(case.fn)
    ep = export_program(module, tuple(case.inputs))
    assert case.aten in _packets(ep), f"aten.{case.aten} is not in the graph: {sorted(_packets(ep))}"
    ir = verify(import_program(ep))
    expected = torch.utils._pytree.tree_leaves(case.fn(*case.inputs))
    got = list(interpret(ir, [x.numpy() for x in case.inputs]).values())
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        theirs = theirs.numpy()
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (ours.dtype, ours.shape, theirs.dtype, theirs.shape)
        np.testing.assert_allclose(ours, theirs, rtol=case.rtol, atol=case.atol)


def test_every_converter_has_a_case():
    covered = {c.aten for c in CASES}
    missing = sorted(str(p) for p in CONVERTERS if str(p).removeprefix("aten.") not in covered)
    assert not missing, f"converters without an eager test: {missing}"


def test_at_least_100_aten_ops_are_mapped():
    assert len(CONVERTERS) >= 100, len(CONVERTERS)
