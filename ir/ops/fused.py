"""The `fused` op: a kernel whose body is a nested Function (region), as in MLIR."""

from __future__ import annotations

from .registry import OPAQUE, Attr, op
from .shape_utils import fail


@op("fused", operands="inputs*", fusion=OPAQUE, has_region=True,
    attrs={"kind": Attr("str", "")})
class Fused:
    """Run the region on the operands; results are the region's outputs."""

    @staticmethod
    def infer(*inputs, kind, region):
        if region is None:
            fail("needs a region")
        if len(inputs) != len(region.args):
            fail(f"{len(inputs)} operands for a region with {len(region.args)} arguments")
        for i, (t, a) in enumerate(zip(inputs, region.args)):
            if t != a.type:
                fail(f"operand {i} has type {t} but region argument %{a.name} has {a.type}")
        return region.result_types

    @staticmethod
    def reference(*arrays, kind, region):
        from ..interpreter import run_function

        return run_function(region, list(arrays))

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 0  # counted through the region's nodes by walkers that descend into regions
