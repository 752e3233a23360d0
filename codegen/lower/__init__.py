"""TE computes for IR ops, one module per op family; importing this package registers them all."""

from . import elementwise  # noqa: F401
from . import activation, indexing, norm, reduction, transform  # noqa: F401
from . import attention, conv, linalg, pool, quant  # noqa: F401
from . import trig  # noqa: F401
from . import bitwise  # noqa: F401
from . import bitcast  # noqa: F401
from . import bitshift  # noqa: F401
from . import floor_mod  # noqa: F401
from . import isinf  # noqa: F401
from . import hardmax  # noqa: F401
from . import cumprod  # noqa: F401
from . import reverse_sequence  # noqa: F401
from . import col2im  # noqa: F401
from . import det  # noqa: F401
from . import dft  # noqa: F401
from . import grid_sample  # noqa: F401
from .registry import LOWERINGS, Lowering, Prepack, get_lowering, lowering

__all__ = ["LOWERINGS", "Lowering", "Prepack", "get_lowering", "lowering"]
