import numpy as np
import pytest

from kernforge.errors import InvalidAttributeError, TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, infer, rand

X = rand(2, 3, 4)
POS = rand(3, 4, 5, lo=0.5, hi=1.5)  # keeps products near 1 so prod does not under/overflow
INTS = rand(3, 4, dtype=np.int32, lo=-5, hi=5)
TIES = rand(4, 6, dtype=np.int32, lo=0, hi=2)  # few distinct values: many ties
BIG = rand(3, 7, lo=-100.0, hi=100.0)  # exp overflows float32 unless shifted
H = rand(4, 8, dtype=np.float16)
# float16 results are rounded once from a float32 accumulation: allow about one f16 ulp.
F16_TOL = {"rtol": 2e-3, "atol": 2e-3}

_ONNX_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
                "prod": "ReduceProd", "sum_square": "ReduceSumSquare", "l2_norm": "ReduceL2",
                "log_sum_exp": "ReduceLogSumExp"}


def reduce_case(op, x, axes=None, keepdims=False, **kw):
    """ONNX Reduce* (opset 18+) takes axes as an input tensor; no tensor means all axes."""
    onnx_inputs = [x] if axes is None else [x, np.array(axes, np.int64)]
    return Case(op, [x], {"axes": axes, "keepdims": keepdims}, onnx=_ONNX_REDUCE[op],
                onnx_attrs={"keepdims": int(keepdims)}, onnx_inputs=onnx_inputs,
                id=f"{op}-axes{axes}-keep{int(keepdims)}", **kw)


def arg_case(op, x, axis=0, keepdims=False, last=False):
    return Case(op, [x], {"axis": axis, "keepdims": keepdims, "select_last_index": last},
                onnx="ArgMax" if op == "argmax" else "ArgMin",
                onnx_attrs={"axis": axis, "keepdims": int(keepdims), "select_last_index": int(last)},
                id=f"{op}-axis{axis}-keep{int(keepdims)}-last{int(last)}")


def cumsum_case(x, axis, exclusive=False, reverse=False):
    return Case("cumsum", [x], {"axis": axis, "exclusive": exclusive, "reverse": reverse}, onnx="CumSum",
                onnx_inputs=[x, np.array(axis, np.int64)],
                onnx_attrs={"exclusive": int(exclusive), "reverse": int(reverse)},
                id=f"cumsum-{x.dtype}-axis{axis}-excl{int(exclusive)}-rev{int(reverse)}")


def topk_case(x, k, axis=-1, largest=True):
    return Case("topk", [x], {"k": k, "axis": axis, "largest": largest}, onnx="TopK",
                onnx_inputs=[x, np.array([k], np.int64)], onnx_attrs={"axis": axis, "largest": int(largest)},
                id=f"topk-{x.dtype}-k{k}-axis{axis}-largest{int(largest)}")


CASES = [
    *[reduce_case(op, POS if op == "prod" else X, axes, keep)
      for op in _ONNX_REDUCE for axes, keep in [(None, False), ((1,), True), ((-1, 0), False)]],
    reduce_case("sum", INTS, (0,)),
    reduce_case("max", INTS, (1,), True),
    reduce_case("prod", rand(3, 4, dtype=np.int32, lo=-3, hi=3), (1,)),
    reduce_case("log_sum_exp", BIG, (1,)),
    Case("sum", [H], {"axes": (1,)}, torch=lambda x: x.sum(1), id="sum-f16", **F16_TOL),
    Case("mean", [H], {"axes": (0,)}, torch=lambda x: x.mean(0), id="mean-f16", **F16_TOL),
    *[arg_case(op, x, axis, keep, last) for op in ("argmax", "argmin") for x, axis, keep, last in [
        (X, 0, False, False), (X, -1, True, False), (TIES, 1, False, False), (TIES, 1, False, True),
        (TIES, 0, True, True)]],
    Case("softmax", [X], onnx="Softmax"),
    Case("softmax", [X], {"axis": 1}, onnx="Softmax", onnx_attrs={"axis": 1}, id="softmax-axis1"),
    Case("softmax", [BIG], onnx="Softmax", id="softmax-big"),
    Case("log_softmax", [X], onnx="LogSoftmax"),
    Case("log_softmax", [X], {"axis": 0}, onnx="LogSoftmax", onnx_attrs={"axis": 0}, id="log_softmax-axis0"),
    # |log p| reaches ~200 here, so float32 rounding of the shift dominates the absolute error.
    Case("log_softmax", [BIG], onnx="LogSoftmax", id="log_softmax-big", atol=1e-4),
    Case("softmax", [H], torch=lambda x: x.softmax(-1), id="softmax-f16", **F16_TOL),
    cumsum_case(X, 0), cumsum_case(X, -1, exclusive=True), cumsum_case(X, 1, reverse=True),
    cumsum_case(X, 2, exclusive=True, reverse=True), cumsum_case(INTS, 1, exclusive=True),
    topk_case(X, 2), topk_case(X, 3, axis=1), topk_case(X, 2, axis=0, largest=False),
    topk_case(TIES, 4), topk_case(TIES, 3, axis=0, largest=False), topk_case(X, 0, axis=1),
    # sorted=False leaves ONNX's order unspecified; kernforge always sorts, so compare with sorted torch.
    Case("topk", [X], {"k": 3, "sorted": False}, torch=lambda x: x.topk(3, sorted=True), id="topk-unsorted"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_reductions_keep_symbolic_dims():
    x = tensor(["batch", 4, None, 8])
    assert infer("sum", [x], axes=[1, -1]) == [tensor(["batch", None])]
    assert infer("l2_norm", [x], axes=[1], keepdims=True) == [tensor(["batch", 1, None, 8])]
    assert infer("max", [x]) == [tensor([])]
    assert infer("argmax", [x], axis=2) == [tensor(["batch", 4, 8], "i64")]
    assert infer("topk", [x], k=3, axis=2) == [tensor(["batch", 4, 3, 8]), tensor(["batch", 4, 3, 8], "i64")]


def test_reduction_flops_count_input_elements():
    opdef = get_op("sum")
    assert opdef.count_flops([tensor([4, 5])], [tensor([4])], opdef.check_attrs({"axes": [1]})) == 20


@pytest.mark.parametrize("name, x, attrs, match", [
    ("sum", tensor([2, 3]), {"axes": [2]}, "out of range"),
    ("sum", tensor([2, 3]), {"axes": [1, -1]}, "repeated"),
    ("mean", tensor([2, 3], "i32"), {}, "float"),
    ("sum", tensor([2, 3], "bool"), {}, "numeric"),
    ("argmax", tensor([]), {}, "rank"),
    ("softmax", tensor([2, 3]), {"axis": -3}, "out of range"),
    ("cumsum", tensor([2, 3]), {"axis": 2}, "out of range"),
    ("topk", tensor([2, 3]), {"k": 4}, "k=4"),
    ("topk", tensor([2, 3]), {"k": -1}, "k=-1"),
])
def test_bad_operands_raise(name, x, attrs, match):
    with pytest.raises(TypeInferenceError, match=match):
        infer(name, [x], **attrs)


def test_required_attributes():
    with pytest.raises(InvalidAttributeError, match="axis"):
        get_op("cumsum").check_attrs({})
    with pytest.raises(InvalidAttributeError, match="'k'"):
        get_op("topk").check_attrs({"axis": 0})
