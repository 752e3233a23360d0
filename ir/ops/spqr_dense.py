"""spqr_dense: dense (x @ w.T + bias) with a SpQR weight (ir/spqr.py): low-bit codes in small groups,
quantized scales and zero points, and a CSR table of exact corrections for the outlier weights."""

from __future__ import annotations

import numpy as np

from ..encodings import SpQREncoding
from ..quantization import words_per_row
from ..spqr import STAT_BITS, SUPERGROUP, SpQRScheme, spqr_dequantize
from .linalg import same_dim
from .registry import OUT_FUSABLE, REQUIRED, Attr, op
from .shape_utils import fail, need_float, need_rank, out_type


def _expect(t, shape, what: str) -> None:
    if tuple(t.shape) != tuple(shape):
        fail(f"{what} must be {list(shape)}, got {list(t.shape)}")


@op("spqr_dense", operands="x, words, stat_codes, stat_grid, outliers, outlier_cols, outlier_ptr, bias?",
    fusion=OUT_FUSABLE, attrs={"bits": Attr("int", REQUIRED), "group": Attr("int", 16),
                               "row_outliers": Attr("int", REQUIRED)})
class SpQRDense:
    """x @ w.T + bias, w = the grid's codes * scale + offset per group (scale and offset decoded from 3-bit
    codes) plus the outlier corrections; row_outliers bounds the outliers of any one row."""

    @staticmethod
    def infer(x, words, stat_codes, stat_grid, outliers, outlier_cols, outlier_ptr, bias=None, *, bits, group,
              row_outliers):
        SpQRScheme(bits, group)  # validates
        need_float(x, "input")
        if words.encoding is not None and not isinstance(words.encoding, SpQREncoding):
            fail(f"the codes' encoding {words.encoding} is not #spqr")
        n, k = words.shape[0], x.shape[-1]
        if isinstance(k, int):
            if k % group:
                fail(f"{k} inputs do not split into groups of {group}")
            groups = k // group
            _expect(words, (n, words_per_row(bits, k)), f"{n} rows of {k} {bits}-bit codes")
            _expect(stat_codes, (2, n, words_per_row(STAT_BITS, groups)), "stat codes")
            _expect(stat_grid, (2, n, -(-groups // SUPERGROUP), 2), "stat grids")
        need_rank(outliers, 1, "outliers")
        same_dim(outlier_cols.shape[0], outliers.shape[0], "outliers and their columns differ in length")
        _expect(outlier_ptr, (n + 1,), "outlier row pointers")
        if row_outliers < 0:
            fail(f"row_outliers={row_outliers} must be >= 0")
        if bias is not None:
            need_rank(bias, 1, "bias")
            same_dim(bias.shape[0], n, "bias size and weight rows differ")
        return out_type(x, (*x.shape[:-1], n))

    @staticmethod
    def reference(x, words, stat_codes, stat_grid, outliers, outlier_cols, outlier_ptr, bias=None, *, bits, group,
                  row_outliers):
        if np.diff(outlier_ptr).max(initial=0) > row_outliers:
            raise ValueError(f"a row has more than row_outliers={row_outliers} outliers")
        w = spqr_dequantize(words, stat_codes, stat_grid, outliers, outlier_cols, outlier_ptr, bits, group,
                            x.shape[-1]).astype(np.float64)
        y = x.astype(np.float64) @ w.T
        return (y if bias is None else y + bias).astype(x.dtype)

    @staticmethod
    def flops(operand_types, result_types, attrs):
        return 2 * result_types[0].numel * operand_types[0].shape[-1]
