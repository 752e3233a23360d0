import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

A, B = rand(2, 3, 4), rand(3, 1, seed=1)
POS = rand(2, 3, 4, lo=0.1, hi=3.0)
I1, I2 = rand(3, 4, dtype=np.int32, lo=-9, hi=9), rand(3, 4, dtype=np.int32, lo=1, hi=5, seed=3)
BOOL_A, BOOL_B = rand(2, 3, dtype=np.bool_), rand(3, dtype=np.bool_, seed=4)

CASES = [
    *[Case(op, [A, B], onnx=onnx, id=f"{op}-bcast") for op, onnx in [
        ("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("maximum", "Max"), ("minimum", "Min")]],
    Case("div", [A, B + 3], onnx="Div"),
    Case("div", [I1, I2], onnx="Div", id="div-int-truncates"),
    Case("mod", [I1, I2], onnx="Mod", id="mod-int"),
    Case("mod", [A, B + 3], onnx="Mod", onnx_attrs={"fmod": 1}, id="mod-float"),
    Case("pow", [POS, B], onnx="Pow", rtol=1e-5),
    Case("pow", [I2, rand(3, 4, dtype=np.int32, lo=0, hi=4, seed=6)], onnx="Pow", id="pow-int"),
    *[Case(op, [A, B], onnx=onnx) for op, onnx in [
        ("equal", "Equal"), ("less", "Less"), ("less_equal", "LessOrEqual"),
        ("greater", "Greater"), ("greater_equal", "GreaterOrEqual")]],
    Case("not_equal", [I1, I2], torch=lambda a, b: a != b),
    Case("logical_and", [BOOL_A, BOOL_B], onnx="And"),
    Case("logical_or", [BOOL_A, BOOL_B], onnx="Or"),
    Case("logical_xor", [BOOL_A, BOOL_B], onnx="Xor"),
    Case("logical_not", [BOOL_A], onnx="Not"),
    *[Case(op, [A], onnx=onnx) for op, onnx in [
        ("neg", "Neg"), ("abs", "Abs"), ("sign", "Sign"), ("floor", "Floor"), ("ceil", "Ceil"),
        ("round", "Round"), ("sin", "Sin"), ("cos", "Cos"), ("tan", "Tan")]],
    *[Case(op, [POS], onnx=onnx) for op, onnx in [
        ("exp", "Exp"), ("log", "Log"), ("sqrt", "Sqrt"), ("reciprocal", "Reciprocal")]],
    Case("rsqrt", [POS], torch=lambda x: x.rsqrt()),
    Case("is_nan", [np.array([1.0, np.nan, -np.inf], np.float32)], onnx="IsNaN"),
    Case("where", [BOOL_A, rand(2, 3), rand(3, seed=5)], onnx="Where"),
    Case("clip", [A], {"min": -0.5, "max": 0.7}, onnx="Clip",
         onnx_inputs=[A, np.float32(-0.5), np.float32(0.7)]),
    Case("clip", [A], {"max": 0.7}, onnx="Clip", onnx_inputs=[A, None, np.float32(0.7)], id="clip-max-only"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
