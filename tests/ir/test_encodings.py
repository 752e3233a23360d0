import pytest

from kernforge.errors import EncodingError
from kernforge.ir.encodings import (
    BSREncoding,
    CSREncoding,
    NMSparseEncoding,
    QuantEncoding,
    SpQREncoding,
    make_encoding,
)
from kernforge.ir.types import tensor


@pytest.mark.parametrize("enc, text", [
    (QuantEncoding(4, 128, 1, "f16", "u4"), "#quant<bits=4, group=128, axis=1, scale=f16, zero=u4>"),
    (QuantEncoding(8), "#quant<bits=8, group=0, axis=1, scale=f32>"),
    (SpQREncoding(3, 16), "#spqr<bits=3, group=16, outliers=csr>"),
    (NMSparseEncoding(2, 4), "#nm<2:4>"),
    (BSREncoding(16, 1), "#bsr<16x1>"),
    (CSREncoding(), "#csr"),
])
def test_encoding_text(enc, text):
    assert str(enc) == text


@pytest.mark.parametrize("make, message", [
    (lambda: NMSparseEncoding(5, 4), "0 < N < M"),
    (lambda: NMSparseEncoding(0, 4), "0 < N < M"),
    (lambda: QuantEncoding(5), "bits=5"),
    (lambda: QuantEncoding(4, group=-1), "group=-1"),
    (lambda: QuantEncoding(4, scale="i8"), "float dtype"),
    (lambda: SpQREncoding(3, outliers="dense"), "outliers"),
    (lambda: BSREncoding(0, 4), "positive"),
    (lambda: make_encoding("zip", [], {}), "unknown encoding"),
    (lambda: make_encoding("nm", [2], {"q": 1}), "invalid encoding #nm"),
])
def test_bad_encodings_raise_clear_errors(make, message):
    with pytest.raises(EncodingError, match=message):
        make()


def test_encodings_change_storage_size():
    dense = tensor([4096, 4096], "f32")
    w4 = tensor([4096, 4096], "f32", encoding=QuantEncoding(4, 128, scale="f16"))
    nm = tensor([4096, 4096], "f16", encoding=NMSparseEncoding(2, 4))
    assert dense.nbytes == 4096 * 4096 * 4
    # 4 bits per weight plus one f16 scale per 128 weights = 4.125 bits per weight.
    assert w4.nbytes == 4096 * 4096 * 4125 // 8000
    # Half the f16 values kept, plus a 2-bit index per kept value.
    assert nm.nbytes == 4096 * 4096 // 2 * 18 // 8
    assert str(w4) == "tensor<4096x4096xf32, #quant<bits=4, group=128, axis=1, scale=f16>>"
