"""kernforge: a deep-learning compiler. ONNX / PyTorch -> graph IR -> passes -> Apache TVM.

`import kernforge` stays light: TVM and torch load only where they are needed.
"""

__version__ = "0.1.0"

from . import errors, frontends, ir, passes  # noqa: E402
from .api import BenchmarkResult, CompiledModel, compile, load  # noqa: E402
from .ir import interpret, parse_module  # noqa: E402

__all__ = ["errors", "frontends", "ir", "passes", "interpret", "parse_module", "compile", "load",
           "CompiledModel", "BenchmarkResult", "__version__"]
