import numpy as np
import pytest

from kernforge.errors import TypeInferenceError, UnknownOpError, VerificationError
from kernforge.ir import Builder, Node, Value, region, verify
from kernforge.ir.types import tensor


def _module():
    b = Builder()
    w = b.param("w", np.ones(3, np.float32))
    f = b.function()
    x = f.arg("x", [2, 3])
    y = f.add(x, w)
    f.ret(f.neg(y))
    return b.module


def test_valid_module_passes():
    assert verify(_module())


def test_use_before_definition():
    m = _module()
    m.main.nodes.reverse()
    with pytest.raises(VerificationError, match="used before it is defined"):
        verify(m)


def test_result_type_must_match_inference():
    m = _module()
    m.main.nodes[0].results[0].type = tensor([2, 4], "f32")
    with pytest.raises(VerificationError, match=r"declared tensor<2x4xf32> but inferred tensor<2x3xf32>"):
        verify(m)


def test_unknown_op_and_foreign_param():
    m = _module()
    m.main.nodes[1].op = "frobnicate"
    del m.params["w"]
    with pytest.raises(VerificationError) as info:
        verify(m)
    assert "unknown op 'frobnicate'" in str(info.value) and "@w is not a param" in str(info.value)


def test_bad_attribute_is_reported():
    m = _module()
    x = m.main.args[0]
    node = Node("clip", [x], {"min": "low", "max": None}, [])
    node.results = [Value(x.type, None, node)]
    m.main.nodes.append(node)
    with pytest.raises(VerificationError, match="attribute 'min': expected float"):
        verify(m)


def test_region_may_not_capture_params():
    b = Builder()
    w = b.param("w", np.ones(2, np.float32))
    f = b.function()
    x = f.arg("x", [2])
    body = region("r")
    body.ret(body.add(body.arg("a", [2]), w))
    f.ret(f.op("fused", x, region=body.func))
    with pytest.raises(VerificationError, match="fused region may not use @w"):
        verify(b.module)


def test_builder_rejects_bad_ops_eagerly():
    f = Builder().function()
    x = f.arg("x", [2, 3])
    with pytest.raises(UnknownOpError):
        f.frobnicate(x)
    with pytest.raises(TypeInferenceError, match="do not broadcast"):
        f.add(x, f.arg("y", [4]))
    with pytest.raises(TypeInferenceError, match="dtypes differ"):
        f.add(x, f.arg("z", [2, 3], "f16"))
