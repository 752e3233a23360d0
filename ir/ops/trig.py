"""Inverse and hyperbolic trigonometric functions (sin, cos, tan live in elementwise.py)."""

from __future__ import annotations

import numpy as np

from .elementwise import binary, unary

for _name, _fn in {
    "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
}.items():
    unary(_name, _fn, floats_only=True, doc=f"Elementwise {_name} of a float tensor.")

binary("atan2", np.arctan2, doc="Elementwise atan2(a, b): the angle of the point (b, a), in (-pi, pi].")
