"""Kernels that call back into host functions (dft's FFT) still run from a saved artifact in a new process."""

import subprocess
import sys

import numpy as np

import kernforge
from kernforge.ir.parser import parse_module

IR = """module @spectrum {
  func @main(%x: tensor<2x10x3x2xf32>) -> tensor<2x10x3x2xf32> {
    %0 = dft(%x) {axis = 1, length = 10, inverse = true} : tensor<2x10x3x2xf32>
    return %0
  }
}"""


def test_dft_artifact_runs_in_a_new_process(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 10, 3, 2)).astype(np.float32)
    cm = kernforge.compile(parse_module(IR))
    expect = np.fft.ifft(x[..., 0] + 1j * x[..., 1], axis=1)
    np.testing.assert_allclose(cm(x), np.stack([expect.real, expect.imag], -1), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "dft.kfa")
    cm.save(path)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, kernforge; cm = kernforge.load(sys.argv[1]); "
            "np.save(sys.argv[3], cm(np.load(sys.argv[2])))")
    subprocess.run([sys.executable, "-c", code, path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), cm(x))
