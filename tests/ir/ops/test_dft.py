import numpy as np
import pytest

from .harness import Case, check_case, ids, rand

REAL = rand(2, 8, 3, 1)
CPLX = rand(2, 8, 3, 2, seed=1)
TOL = {"rtol": 1e-4, "atol": 1e-4}


def dft_case(x, axis, length, inverse=False, onesided=False, id=""):
    return Case("dft", [x], {"axis": axis, "length": length, "inverse": inverse, "onesided": onesided},
                onnx="DFT", opset=20, onnx_attrs={"inverse": int(inverse), "onesided": int(onesided)},
                onnx_inputs=[x, np.array(length, np.int64), np.array(axis, np.int64)], id=id, **TOL)


CASES = [
    dft_case(REAL, 1, 8, id="dft-real"),
    dft_case(CPLX, 1, 8, id="dft-complex"),
    dft_case(CPLX, 2, 3, inverse=True, id="dft-inverse"),
    dft_case(REAL, 1, 8, onesided=True, id="dft-onesided"),
    dft_case(REAL, 1, 6, id="dft-truncated"),
    dft_case(CPLX, 1, 10, id="dft-zero-padded"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def test_inverse_onesided_is_irfft():
    from kernforge.ir.ops import get_op

    signal = rand(8).astype(np.float64)
    half = np.fft.rfft(signal)
    x = np.stack([half.real, half.imag], -1)[None].astype(np.float32)
    y = get_op("dft").evaluate([x], {"axis": 1, "length": 8, "inverse": True, "onesided": True})[0]
    np.testing.assert_allclose(y[0, :, 0], signal, rtol=1e-5, atol=1e-5)
