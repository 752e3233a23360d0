"""The IR text parser: every syntax feature, the objects it builds, and its error messages."""

from __future__ import annotations

import math
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import kernforge.ir
from kernforge.errors import ParseError
from kernforge.ir import Builder, parse_module, print_module, verify
from kernforge.ir.encodings import BSREncoding, CSREncoding, NMSparseEncoding, QuantEncoding, SpQREncoding
from kernforge.ir.graph import Param
from kernforge.ir.types import DTYPES, f16, f32

from .strategies import ATTR_OP, attr_test_op

INPUTS = Path(__file__).parent / "inputs"

FEATURES = """\
// leading comment
module @features {  // after a brace
  param @w : tensor<2x3xf32> = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]>
  param @big : tensor<96x16x1x1xf32>
  func @main(%x: tensor<?batch x2x3xf32>, %m: tensor<? x4xi8, NCHW8c, #quant<bits=4, group=128, axis=1, scale=f16, zero=u4>>)
      -> (tensor<?batch x2x3xf32>, tensor<2x3xf32>, tensor<?batch x2x3xf32>) {
    %0 = add(%x, @w) : tensor<?batch x2x3xf32>
    %h.1 = clip(%0) {min = -1.0, max = 1e-05} : tensor<?batch x2x3xf32>  // trailing comment
    %7, %8 = fused(%h.1, @w) {kind = "pair"} : tensor<?batch x2x3xf32>, tensor<?batch x2x3xf32> {
      func @region(%a: tensor<?batch x2x3xf32>, %b: tensor<2x3xf32>) -> (tensor<?batch x2x3xf32>, tensor<?batch x2x3xf32>) {
        %0 = mul(%a, %b) : tensor<?batch x2x3xf32>
        return %0, %a
      }
    }
    return %7, @w, %8
  }
  func @empty() -> () {
    return
  }
}
"""


def _error(text: str) -> str:
    with pytest.raises(ParseError) as info:
        parse_module(text)
    return str(info.value)


def _func(body: str, args: str = "%x: tensor<4xf32>", results: str = "()") -> str:
    return f"module @m {{\n  func @f({args}) -> {results} {{\n{body}\n  }}\n}}\n"


# ---- what gets built -------------------------------------------------------------------------


def test_module_structure():
    m = parse_module(FEATURES)
    assert m.name == "features" and list(m.functions) == ["main", "empty"] and list(m.params) == ["w", "big"]
    main = m.functions["main"]
    assert [a.name for a in main.args] == ["x", "m"]
    assert main.args[0].type.shape == ("batch", 2, 3)
    assert main.args[1].type.shape == (None, 4) and main.args[1].type.layout == "NCHW8c"
    add, clip, fused = main.nodes
    assert add.results[0].name is None and clip.results[0].name == "h.1"
    assert add.operands[1] is m.params["w"] and clip.operands == [add.results[0]]
    assert clip.attrs == {"min": -1.0, "max": 1e-05}
    assert [r.name for r in fused.results] == [None, None] and fused.attrs == {"kind": "pair"}
    assert fused.region.name == "region" and fused.region.nodes[0].op == "mul"
    assert main.outputs == [fused.results[0], m.params["w"], fused.results[1]]
    assert m.functions["empty"].outputs == [] and m.functions["empty"].args == []
    verify(m)


def test_results_carry_their_producer_and_index():
    m = parse_module(FEATURES)
    fused = m.main.nodes[2]
    assert [(r.producer, r.index) for r in fused.results] == [(fused, 0), (fused, 1)]


def test_param_data_and_elision():
    m = parse_module(FEATURES)
    w, big = m.params["w"], m.params["big"]
    assert isinstance(w, Param) and w.data.dtype == np.float32
    np.testing.assert_array_equal(w.data, [[1, 2, 3], [4, 5, 6]])
    assert big.data is None and big.type.shape == (96, 16, 1, 1)


def test_types_of_rank_zero_and_symbols_containing_x():
    m = parse_module(_func("    return", "%s: tensor<f32>, %t: tensor<?x x?nx x? x2xbool>"))
    s, t = m.main.args
    assert s.type.shape == () and t.type.shape == ("x", "nx", None, 2) and t.type.dtype == DTYPES["bool"]


def test_symbol_needs_space_before_x():
    assert "2:22: unexpected character '?'" in _error(_func("    return", "%t: tensor<?nx4xf32>"))


def test_module_level_api_wraps_the_parser():
    assert print_module(kernforge.ir.parse_module(FEATURES)) == print_module(parse_module(FEATURES))


def test_whitespace_and_comments_anywhere():
    text = "module@m{func@f(%x:tensor<4xf32>)->tensor<4xf32>{%0=neg(%x):tensor<4xf32>\nreturn %0}}"
    spaced = "// c\nmodule @m // c\n{ func @f ( %x : tensor< 4x f32 > ) // c\n -> tensor<4xf32> { return %x } }"
    assert parse_module(text).main.nodes[0].op == "neg"
    main = parse_module(spaced).main
    assert main.outputs == main.args


@pytest.mark.parametrize("text, expected", [
    ("#quant<bits=4, group=128, axis=1, scale=f16, zero=u4>", QuantEncoding(4, 128, 1, f16, DTYPES["u4"])),
    ("#quant<bits=8, group=0, axis=-1, scale=f32>", QuantEncoding(8, 0, -1, f32, None)),
    ("#spqr<bits=3, group=16, outliers=csr>", SpQREncoding(3, 16, "csr")),
    ("#nm<2:4>", NMSparseEncoding(2, 4)),
    ("#bsr<16x8>", BSREncoding(16, 8)),
    ("#csr", CSREncoding()),
])
def test_encodings_parse_into_their_classes(text, expected):
    m = parse_module(_func("    return", f"%x: tensor<64x128xf32, {text}>"))
    enc = m.main.args[0].type.encoding
    assert type(enc) is type(expected) and enc == expected and str(enc) == text


@pytest.mark.parametrize("name", list(DTYPES))
def test_every_dtype_name_parses(name):
    t = parse_module(_func("    return", f"%x: tensor<2x{name}>")).main.args[0].type
    assert t.dtype is DTYPES[name] and t.shape == (2,)


def test_layout_and_encoding_together():
    t = parse_module(_func("    return", "%x: tensor<4x4xf32, NC, #bsr<2x2>>")).main.args[0].type
    assert t.layout == "NC" and t.encoding == BSREncoding(2, 2)


def test_attribute_values_of_every_kind():
    body = (f'    %0 = {ATTR_OP}(%x) {{i = -3, f = 1e-05, b = true, s = "a\\"b\\u00e9", ints = [1, -2], '
            'floats = [inf, -inf, nan, -2.5e+30], strs = [], dt = bf16, io = [1, 2], pick = "b"} : tensor<4xf32>\n'
            "    return")
    with attr_test_op():
        attrs = parse_module(_func(body)).main.nodes[0].attrs
    assert attrs["i"] == -3 and attrs["f"] == 1e-05 and attrs["b"] is True and attrs["s"] == 'a"b\u00e9'
    assert attrs["ints"] == (1, -2) and attrs["strs"] == () and attrs["dt"] is DTYPES["bf16"]
    assert attrs["floats"][:2] == (math.inf, -math.inf) and math.isnan(attrs["floats"][2])
    assert attrs["io"] == (1, 2) and attrs["pick"] == "b"


def test_missing_attributes_get_defaults_and_none_parses():
    with attr_test_op():
        node = parse_module(_func(f"    %0 = {ATTR_OP}(%x) {{f = none, io = 4}} : tensor<4xf32>\n    return")).main.nodes[0]
    assert node.attrs["f"] is None and node.attrs["io"] == 4 and node.attrs["i"] == 0 and node.attrs["pick"] == "a"


@pytest.mark.parametrize("dt, values", [
    ("f32", np.array([0.1, -0.0, 1e-45, 3.4028235e38, math.inf, -math.inf, 1 / 3, -2.5e30], np.float32)),
    ("f16", np.array([0.1, -0.0, 6e-08, 65504.0, math.inf, 1 / 3], np.float16)),
    ("bf16", np.array([0.1, -0.0, 1e-40, 3.3e38, -math.inf, 1 / 3], ml_dtypes.bfloat16)),
    ("i8", np.array([-128, 127, 0, -1, 5], np.int8)),
    ("bool", np.array([True, False, True], np.bool_)),
    ("u4", np.array([0, 15, 7], ml_dtypes.uint4)),
    ("i3", np.array([-4, 3, 0], np.int8)),
])
def test_dense_data_round_trips_bit_exactly(dt, values):
    b = Builder()
    f = b.function()
    p = b.param("p", values, type=kernforge.ir.tensor(values.shape, dt))
    f.ret(p)
    parsed = parse_module(print_module(b.module)).params["p"].data
    assert parsed.dtype == values.dtype and parsed.shape == values.shape
    assert parsed.tobytes() == values.tobytes()


def test_dense_scalars_and_empty_arrays():
    text = "module @m {\n  param @s : tensor<f16> = dense<0.5>\n  param @e : tensor<0x3xi8> = dense<[]>\n}\n"
    m = parse_module(text)
    assert m.params["s"].data.shape == () and m.params["s"].data.dtype == np.float16
    assert m.params["e"].data.shape == (0, 3)


def test_nan_data_parses_as_nan():
    m = parse_module("module @m {\n  param @n : tensor<2xf32> = dense<[nan, 1.0]>\n}\n")
    assert np.isnan(m.params["n"].data[0])


@pytest.mark.parametrize("path", sorted(INPUTS.glob("*.kf.txt")), ids=lambda p: p.name)
def test_input_files_verify(path):
    verify(parse_module(path.read_text(), str(path)))


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("module @m {\n  param @w tensor<f32>\n}", "<input>:2:12: unexpected 'tensor'; expected ':'"),
    (_func("    %0 = neg(%x) tensor<4xf32>\n    return"), "<input>:3:18: unexpected 'tensor'; expected ':' or '{'"),
    (_func("    %0 = neg(%x %x) : tensor<4xf32>\n    return"), "<input>:3:17: unexpected '%x'; expected ')' or ','"),
    ("module @m {\n  func @f() -> () {\n    return\n  }\n", "<input>:4:4: unexpected end of input; expected "
     "'func', 'param' or '}'"),
    ("", "<input>:1:1: unexpected end of input; expected 'module'"),
    ("module @m $", "<input>:1:11: unexpected character '$'; expected '{'"),
    (_func("    return", "%x: tensor<2x3>"), "<input>:2:24: unexpected '3'; expected a dtype like f32"),
    (_func("    return", "%x: tensor<4xf32, NC, NC>"), "<input>:2:33: unexpected 'NC'; expected an #encoding"),
    (_func("    %0 = neg(%x) {a = 1, } : tensor<4xf32>\n    return"), "expected a name"),
])
def test_syntax_errors_say_where_what_and_what_was_expected(text, message):
    assert message in _error(text)


@pytest.mark.parametrize("text, message", [
    (_func("    %0 = neg(%y) : tensor<4xf32>\n    return"), "3:14: undefined value %y"),
    (_func("    %0 = neg(@w) : tensor<4xf32>\n    return"), "3:14: undefined param @w"),
    (_func("    return %0"), "3:12: undefined value %0"),
    (_func("    %0 = frob(%x) : tensor<4xf32>\n    return"), "3:10: unknown op 'frob'"),
    (_func("    %0 = neg(%x) {alpha = 1} : tensor<4xf32>\n    return"), "3:18: neg: unknown attribute(s) ['alpha']"),
    (_func("    %0 = clip(%x) {min = \"a\"} : tensor<4xf32>\n    return"), "3:19: clip: attribute 'min'"),
    (_func("    %0 = clip(%x) {min = 1.0, min = 2.0} : tensor<4xf32>\n    return"), "3:31: duplicate attribute 'min'"),
    (_func("    %0 = clip(%x) {min = foo} : tensor<4xf32>\n    return"), "3:26: unknown name 'foo'"),
    (_func("    %0 = add(%x) : tensor<4xf32>\n    return"), "3:10: add: expected 2 operands, got 1"),
    (_func("    %0 = neg(%x) : tensor<4xf32>\n    %0 = neg(%x) : tensor<4xf32>\n    return"), "4:5: %0 is defined twice"),
    (_func("    return", "%x: tensor<4xf32>, %x: tensor<4xf32>"), "2:30: %x is defined twice"),
    (_func("    %0, %1 = neg(%x) : tensor<4xf32>\n    return"), "3:5: 2 result name(s) but 1 result type(s)"),
    (_func("    return %x"), "3:5: @f returns 1 value(s) but its signature declares 0"),
    (_func("    return %x", results="tensor<4xf16>"), "returned value 0 has type tensor<4xf32> but the signature"),
    (_func("    return", "%x: tensor<4xf33>"), "2:24: unknown dtype 'f33'"),
    (_func("    return", "%x: tensor<4xf32, #nm<5:4>>"), "2:29: invalid encoding #nm: 5:4 needs 0 < N < M"),
    (_func("    return", "%x: tensor<4xf32, #quant<bits=5>>"), "2:29: invalid encoding #quant: bits=5"),
    (_func("    return", "%x: tensor<4xf32, #quant<bitz=5>>"), "2:29: invalid encoding #quant"),
    (_func("    return", "%x: tensor<4xf32, #zip>"), "2:29: unknown encoding #zip"),
    (_func("    return", "%x: tensor<4xf32, #quant<bits=4, scale=csr>>"), "2:29: unknown dtype 'csr'"),
    (_func("    return", "%x: tensor<4xf32, #quant<bits=4, bits=8>>"), "2:29: duplicate key 'bits' in #quant"),
    (_func('    %0 = clip(%x) {min = "\\q"} : tensor<4xf32>\n    return'), '3:26: invalid string "\\q"'),
    (_func("    %0 = tensor(%x) : tensor<4xf32>\n    return"), "3:10: unknown op 'tensor'"),
    ("module @m {\n  param @w : tensor<2xi8> = dense<[1, 300]>\n}", "2:9: param @w: value 300 is not a valid i8"),
    ("module @m {\n  param @w : tensor<2xi8> = dense<[1.5, 3]>\n}", "2:9: param @w: value 1.5 is not a valid i8"),
    ("module @m {\n  param @w : tensor<2xf32> = dense<[1.0]>\n}", "2:9: param @w: dense literal has shape [1]"),
    ("module @m {\n  param @w : tensor<2xf32> = dense<[[1.0], 2.0]>\n}", "2:9: param @w: dense literal is not"),
    ("module @m {\n  param @w : tensor<f32>\n  param @w : tensor<f32>\n}", "3:9: param @w is defined twice"),
    ("module @m {\n  func @f() -> () {\n    return\n  }\n  func @f() -> () {\n    return\n  }\n}",
     "5:8: function @f is defined twice"),
])
def test_semantic_errors_say_where(text, message):
    assert message in _error(text)


REGION = """\
module @m {
  param @w : tensor<4xf32>
  func @f(%x: tensor<4xf32>) -> () {
    %0 = fused(%x) : tensor<4xf32> {
      func @r(%a: tensor<4xf32>) -> tensor<4xf32> {
        %0 = add(%a, %BODY) : tensor<4xf32>
        return %0
      }
    }
    return
  }
}
"""


@pytest.mark.parametrize("operand, message", [
    ("%x", "6:22: undefined value %x in this fused region"),
    ("@w", "6:22: a fused region may not use @w"),
])
def test_regions_are_closed_scopes(operand, message):
    assert message in _error(REGION.replace("%BODY", operand))


def test_region_presence_and_arity_are_checked():
    no_region = _func("    %0 = fused(%x) : tensor<4xf32>\n    return")
    assert "3:10: op 'fused' needs region" in _error(no_region)
    extra = REGION.replace("%BODY", "%a").replace("fused(%x)", "fused(%x, %x)")
    assert "4:10: 2 operand(s) for a region with 1 argument(s)" in _error(extra)
    spurious = _func("    %0 = neg(%x) : tensor<4xf32> {\n      func @r() -> () {\n        return\n      }\n    }\n    return")
    assert "3:10: op 'neg' takes no region" in _error(spurious)


def test_error_carries_source_line_and_column():
    with pytest.raises(ParseError) as info:
        parse_module("module @m {\n  bogus\n}", source="model.kf.txt")
    err = info.value
    assert (err.source, err.line, err.column) == ("model.kf.txt", 2, 3)
    assert str(err).startswith("model.kf.txt:2:3: unexpected 'bogus'; expected")
