"""Output-error sensitivities (passes/quantize_sensitivity.py) steer auto: bit allocation to the layers
whose errors reach the outputs: two dense layers alike in their own error, one scaled down 100x on
its way to the output. The Hessian proxy cannot tell them apart; the model's outputs can."""

import numpy as np

import kernforge
from kernforge.ir import Builder, interpret
from kernforge.ir.quantization import BITS
from kernforge.passes.quantize import quantize_targets
from kernforge.passes.quantize_sensitivity import output_errors

RNG = np.random.default_rng(0)


def two_branches():
    """y = dense(x, wa) + 0.01 * dense(x, wb), both [64, 128] standard normal."""
    b = Builder("branches")
    f = b.function()
    x = f.arg("x", [4, 128])
    w = lambda name: f.param(name, RNG.standard_normal((64, 128)).astype(np.float32))
    loud = f.op("dense", x, w("wa"))
    quiet = f.op("mul", f.op("dense", x, w("wb")), f.param("scale", np.full((), 0.01, np.float32)))
    f.ret(f.op("add", loud, quiet))
    return b.module


CALIBRATION = [{"x": RNG.standard_normal((4, 128)).astype(np.float32)} for _ in range(4)]


def test_errors_are_measured_at_the_outputs():
    module = two_branches()
    nodes = [n for n, _ in quantize_targets(module, 128)]
    errors = output_errors(module, nodes, 128, CALIBRATION)
    loud, quiet = (errors[id(n)] for n in nodes)
    assert len(loud) == len(BITS)
    assert all(a > b for a, b in zip(loud, loud[1:]))  # more bits, less error
    # the quiet branch reaches the output 100x smaller: 1e4x in squared error
    assert all(2e3 < a / b < 5e4 for a, b in zip(loud, quiet))
    assert module.params["wa"].data is nodes[0].operands[1].data  # the weights are back in place


def test_calibrated_auto_gives_the_loud_branch_the_bits_and_beats_uniform():
    module = two_branches()
    x = RNG.standard_normal((4, 128)).astype(np.float32)
    (want,) = interpret(module, [x]).values()
    err = lambda scheme, **kw: np.linalg.norm(
        next(iter(interpret(kernforge.api.prepare(module, opt_level=0, quantize=scheme, **kw), [x]).values())) - want)
    # auto:5 allows (8 bits, 2 bits) = (8.5 + 2.5) / 2 with the scales; uniform 4 bits costs 4.5
    mixed = kernforge.api.prepare(module, opt_level=0, quantize="auto:5.5", calibration=CALIBRATION)
    bits = {n.operands[1].name.split("_")[0]: n.attrs["bits"] for n in mixed.main.nodes if n.op == "quant_dense"}
    assert bits == {"wa": 8, "wb": 2}
    assert err("auto:5.5", calibration=CALIBRATION) < err("w4g128") / 10
