"""Optimization passes: a registry of `Module -> Module` rewrites run by the PassManager.

`kernforge.passes.run_pipeline(module, "canonicalize,fuse-ops")` or `run_pipeline(module, "-O2")`.
"""

from . import (  # noqa: F401  (registration)
    block_fuse,
    canonicalize,
    constant_fold,
    cse,
    dce,
    encode_quantized_weights,
    fold_batchnorm,
    fuse_attention,
    fuse_ops,
    layout,
    quantize,
    sparsify,
)
from .manager import PASSES, PassInfo, PassManager, count_nodes, get_pass, parse_pipeline, register_pass, run_pipeline
from .pipelines import PIPELINES

__all__ = ["PASSES", "PIPELINES", "PassInfo", "PassManager", "count_nodes", "get_pass", "parse_pipeline",
           "register_pass", "run_pipeline"]
