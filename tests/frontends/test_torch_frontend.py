"""from_torch's contract: names, params, output flattening, symbolic dims, and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.export import Dim  # noqa: E402

from kernforge.errors import ExportError, KernforgeError, UnsupportedOpError  # noqa: E402
from kernforge.frontends import from_torch  # noqa: E402
from kernforge.ir import interpret, parse_module  # noqa: E402

from .torch_models import check_against_eager  # noqa: E402


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("offset", torch.arange(3.0))
        self.register_buffer("unused", torch.zeros(2))

    def forward(self, x, y):
        h = self.fc(x) + self.offset
        return {"logits": h, "extra": (h.sum(-1), y * 2)}


def test_names_params_and_pytree_output_order():
    x, y = torch.randn(2, 4), torch.randn(5)
    ir = check_against_eager(TwoHeads(), (x, y))
    assert ir.main.input_names == ["x", "y"]
    assert ir.main.output_names == ["logits", "extra_0", "extra_1"]
    assert set(ir.params) >= {"fc.weight", "fc.bias", "offset"}
    assert "unused" not in ir.params  # buffers no op reads are dropped
    np.testing.assert_array_equal(ir.params["offset"].data, np.arange(3.0, dtype=np.float32))
    assert any(n.op == "dense" for n in ir.main.nodes)  # nn.Linear is one dense op


def test_tuple_and_single_outputs_are_named_by_position():
    pair = from_torch(Fn2(), (torch.randn(3),))
    assert pair.main.output_names == ["out0", "out1"]
    single = from_torch(nn.ReLU(), (torch.randn(3),))
    assert single.main.output_names == ["output"]


class Fn2(nn.Module):
    def forward(self, x):
        return x + 1, x  # the second output is the input itself: it gets an identity node


def test_printed_ir_parses_back():
    ir = from_torch(TwoHeads(), (torch.randn(2, 4), torch.randn(5)))
    assert str(parse_module(str(ir))) == str(ir)


def test_dim_names_become_symbols_and_both_sizes_run():
    model = nn.Sequential(nn.GELU(), nn.LayerNorm(6), nn.Softmax(-1))
    seq = Dim("seq", max=128)
    ir = check_against_eager(model, (torch.randn(2, 5, 6),), dynamic_shapes=({0: Dim("batch"), 1: seq},),
                             runs=[(torch.randn(3, 9, 6),)])
    assert ir.main.args[0].type.shape == ("batch", "seq", 6)
    assert ir.main.outputs[0].type.shape == ("batch", "seq", 6)


def test_linear_on_a_dynamic_batch_keeps_the_symbol():
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU())
    ir = check_against_eager(model, (torch.randn(2, 5, 6),), dynamic_shapes=({0: Dim("batch")},),
                             runs=[(torch.randn(4, 5, 6),)])
    assert ir.main.outputs[0].type.shape == ("batch", 5, 4)


def test_keyword_example_inputs():
    ir = from_torch(TwoHeads(), {"x": torch.randn(2, 4), "y": torch.randn(5)})
    assert ir.main.input_names == ["x", "y"]


class UsesMissingOps(nn.Module):
    def forward(self, x):
        a = torch.erfinv(x.clamp(-0.5, 0.5))
        b = torch.diagonal(x)
        return a.sum() + b.sum()


def test_unsupported_ops_are_all_listed_with_their_source_lines():
    with pytest.raises(UnsupportedOpError) as info:
        from_torch(UsesMissingOps(), (torch.randn(3, 3),))
    text = str(info.value)
    assert "aten.erfinv.default" in text and "aten.diagonal.default" in text
    assert f"{__file__}:{UsesMissingOps.forward.__code__.co_firstlineno + 1}: " in text
    assert "a = torch.erfinv(x.clamp(-0.5, 0.5))" in text
    assert "b = torch.diagonal(x)" in text


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # Python control flow on a tensor value: torch.export cannot trace it
            return x * 2
        return x


def test_untraceable_module_says_so_and_why():
    with pytest.raises(ExportError) as info:
        from_torch(DataDependent(), (torch.randn(3),))
    text = str(info.value)
    assert text.startswith("torch.export could not trace DataDependent")
    assert "data-dependent" in text


def test_converter_error_names_op_and_line():
    class SymbolicArange(nn.Module):
        def forward(self, x):
            return x + torch.arange(x.shape[0])

    with pytest.raises(KernforgeError, match=r"aten\.arange\.\w+ .*test_torch_frontend\.py:\d+: return x \+ torch"):
        from_torch(SymbolicArange(), (torch.randn(4),), dynamic_shapes=({0: Dim("n")},))


def test_interpreter_checks_the_symbolic_batch():
    ir = from_torch(nn.Linear(3, 2), (torch.randn(2, 3),), dynamic_shapes=({0: Dim("batch")},))
    out = interpret(ir, [np.ones((6, 3), np.float32)])
    assert out["output"].shape == (6, 2)


_NO_TORCH = """
import sys
sys.modules["torch"] = None  # makes `import torch` raise ImportError
import kernforge, kernforge.frontends
from kernforge.errors import KernforgeError
try:
    kernforge.frontends.from_torch(object(), ())
except KernforgeError as e:
    print(e)
"""


def test_kernforge_imports_and_explains_without_torch():
    out = subprocess.run([sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, check=True).stdout
    assert "pip install torch==2.13.0" in out and "kernforge[torch]" in out


def test_bias_free_linear_is_one_dense_op():
    ir = check_against_eager(nn.Linear(3, 2, bias=False), (torch.randn(4, 3),))
    assert [n.op for n in ir.main.nodes] == ["dense"]
