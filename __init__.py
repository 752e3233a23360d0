"""kernforge: a deep-learning compiler. ONNX / PyTorch -> graph IR -> passes -> Apache TVM.

`import kernforge` stays light: TVM and torch load only where they are needed.
"""

from . import errors, ir, passes
from .ir import interpret, parse_module

__version__ = "0.1.0"
__all__ = ["errors", "ir", "passes", "interpret", "parse_module", "__version__"]
