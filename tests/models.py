"""Small IR modules shared by API, runtime and CLI tests, with real data."""

import numpy as np

from kernforge.ir import Builder


def affine_relu(batch="batch", features=64, seed=0):
    """y = clip(x * scale + shift, min=0) and its pre-activation, with a dynamic batch."""
    rng = np.random.default_rng(seed)
    b = Builder("affine_relu")
    scale = b.param("scale", rng.standard_normal(features).astype(np.float32))
    shift = b.param("shift", rng.standard_normal(features).astype(np.float32))
    f = b.function()
    x = f.arg("x", [batch, features])
    h = f.add(f.mul(x, scale), shift)
    h.name = "pre"
    y = f.clip(h, min=0.0)
    y.name = "y"
    f.ret(y, h)
    return b.module
