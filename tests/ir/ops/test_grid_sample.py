import pytest

from .harness import Case, check_case, ids, rand

X = rand(1, 2, 4, 5)
GRID = rand(1, 3, 6, 2, lo=-1.3, hi=1.3, seed=1)  # some points fall outside [-1, 1]
X3 = rand(1, 2, 3, 4, 5, seed=2)
GRID3 = rand(1, 2, 3, 4, 3, lo=-1.2, hi=1.2, seed=3)


def gs_case(mode, padding, align, x=X, grid=GRID):
    attrs = {"mode": mode, "padding_mode": padding, "align_corners": align}
    return Case("grid_sample", [x, grid], attrs, onnx="GridSample", opset=20,
                onnx_attrs={"mode": mode, "padding_mode": padding, "align_corners": int(align)},
                rtol=1e-4, atol=1e-5, id=f"grid_sample-{mode}-{padding}-align{int(align)}")


def torch_3d(mode, align):
    import torch.nn.functional as F

    return lambda x, g: F.grid_sample(x, g, mode={"linear": "bilinear"}.get(mode, mode), align_corners=align)


CASES = [
    *[gs_case(mode, padding, align) for mode in ("linear", "nearest", "cubic")
      for padding in ("zeros", "border", "reflection") for align in (False, True)],
    *[Case("grid_sample", [X3, GRID3], {"mode": mode, "align_corners": align}, torch=torch_3d(mode, align),
           rtol=1e-4, atol=1e-5, id=f"grid_sample-3d-{mode}-align{int(align)}")
      for mode in ("linear", "nearest") for align in (False, True)],
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_op_matches_oracle(case):
    check_case(case)
