import numpy as np
import pytest

from kernforge.errors import TypeInferenceError
from kernforge.ir.ops import get_op
from kernforge.ir.types import tensor

from .harness import Case, check_case, ids, rand

# The two matmuls and the softmax sum in a different order than torch's kernels.
TOL = {"rtol": 1e-4, "atol": 1e-5}
Q, K, V = rand(2, 3, 5, 8), rand(2, 3, 7, 8, seed=1), rand(2, 3, 7, 4, seed=2)


def sdpa(*, float32=False, **kw):
    def fn(q, k, v, mask=None):
        from torch.nn.functional import scaled_dot_product_attention as f

        if float32:
            return f(q.float(), k.float(), v.float(), attn_mask=mask, **kw).to(q.dtype)
        return f(q, k, v, attn_mask=mask, **kw)

    return fn


def case(inputs, id, attrs=None, **kw):
    attrs = attrs or {}
    return Case("scaled_dot_product_attention", inputs, attrs, torch=sdpa(**attrs, **kw),
                id=f"sdpa-{id}", **TOL)


CASES = [
    case([Q, K, V], "basic"),
    case([Q, K, V], "scale", {"scale": 0.3}),
    case([Q, rand(2, 3, 5, 8, seed=1), rand(2, 3, 5, 4, seed=2)], "causal-square", {"is_causal": True}),
    case([Q, K, V], "causal-top-left", {"is_causal": True}),
    case([Q, K, V, rand(5, 7, dtype=np.bool_, seed=3) | np.eye(5, 7, dtype=bool)], "bool-mask-bcast"),
    case([Q, K, V, rand(2, 1, 5, 7, seed=4)], "float-mask"),
    case([rand(4, 6, 8), rand(4, 6, 8, seed=1), rand(4, 6, 8, seed=2)], "3d"),
    case([Q, rand(1, 3, 7, 8, seed=1), rand(1, 3, 7, 4, seed=2)], "bcast-batch"),
    # one token against one key (a decode step without a cache): unit loops the schedule must not tile
    case([rand(1, 12, 1, 64), rand(1, 12, 1, 64, seed=1), rand(1, 12, 1, 64, seed=2)], "one-token", {"is_causal": True}),
    Case("scaled_dot_product_attention", [Q.astype(np.float16), K.astype(np.float16), V.astype(np.float16)],
         torch=sdpa(float32=True), id="sdpa-f16", rtol=2e-3, atol=2e-3),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)


def infer(types, **attrs):
    opdef = get_op("scaled_dot_product_attention")
    return opdef.infer_types(types, opdef.check_attrs(attrs))


@pytest.mark.parametrize("types, attrs", [
    ([tensor([2, 5, 8]), tensor([2, 7, 6]), tensor([2, 7, 4])], {}),  # head dims differ
    ([tensor([2, 5, 8]), tensor([2, 7, 8]), tensor([2, 6, 4])], {}),  # sequence lengths differ
    ([tensor([8]), tensor([7, 8]), tensor([7, 4])], {}),
    ([tensor([2, 5, 8]), tensor([3, 7, 8]), tensor([3, 7, 4])], {}),  # batch does not broadcast
    ([tensor([2, 5, 8], "i32"), tensor([2, 7, 8], "i32"), tensor([2, 7, 4], "i32")], {}),
    ([tensor([2, 5, 8]), tensor([2, 7, 8]), tensor([2, 7, 4]), tensor([5, 6], "bool")], {}),
    ([tensor([2, 5, 8]), tensor([2, 7, 8]), tensor([2, 7, 4]), tensor([5, 7], "bool")], {"is_causal": True}),
])
def test_bad_operands_raise(types, attrs):
    with pytest.raises(TypeInferenceError):
        infer(types, **attrs)


def test_symbolic_dims_and_flops():
    q, k, v = tensor(["b", 8, "l", 64]), tensor(["b", 8, "s", 64]), tensor(["b", 8, "s", 32])
    (out,) = infer([q, k, v])
    assert out.shape == ("b", 8, "l", 32)
    q, k, v = tensor([1, 2, 4, 8]), tensor([1, 2, 6, 8]), tensor([1, 2, 6, 8])
    (out,) = infer([q, k, v])
    flops = get_op("scaled_dot_product_attention").count_flops([q, k, v], [out], {})
    assert flops == (2 * 4 * 6) * (2 * 8 + 2 * 8 + 5)  # scores * (qk, pv, softmax)
