"""Named pipelines (-O0 .. -O3): the one table that says which passes each optimization level runs."""

from __future__ import annotations

# Entries are pipeline strings and may name other entries; later passes extend these levels.
PIPELINES: dict[str, str] = {
    "O0": "",
    # encode-quantized-weights first: canonicalize would fold dequantized constant weights to float32.
    "O1": "encode-quantized-weights,canonicalize",
    # fold-batchnorm leaves the original conv weights and batch-norm constants unused: canonicalize again.
    "O2": "O1,fold-batchnorm,canonicalize,fuse-ops",
    # fuse-attention before fuse-ops: the softmax and matmuls it absorbs would otherwise fuse apart.
    # layout before fusion: its transforms are kernels of their own, the blocked values fuse as any.
    # block-fuse merges fuse-ops' conv kernels of inverted-residual blocks.
    "O3": "O1,fold-batchnorm,canonicalize,layout,fuse-attention,fuse-ops,block-fuse",
}


def pipeline_key(name: str) -> str | None:
    """The PIPELINES key for "O2" or "-O2", or None if name is not a named pipeline."""
    key = name[1:] if name.startswith("-") else name
    return key if key in PIPELINES else None
