"""Model importers: ONNX and PyTorch (torch.export) into kernforge IR.

Each importer loads its heavy dependency only when called, so `import kernforge` stays light.
"""

from __future__ import annotations

from typing import Any


def from_onnx(model: Any, input_shapes: dict | None = None):
    """Import an ONNX model (path, bytes or ModelProto) as a kernforge Module."""
    from .onnx import from_onnx as _from_onnx

    return _from_onnx(model, input_shapes)


def from_torch(module: Any, example_inputs: Any, dynamic_shapes: Any = None):
    """Import a torch.nn.Module through torch.export as a kernforge Module."""
    from .torch import from_torch as _from_torch

    return _from_torch(module, example_inputs, dynamic_shapes)


__all__ = ["from_onnx", "from_torch"]
