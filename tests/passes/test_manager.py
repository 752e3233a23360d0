"""PassManager: registry, pipeline parsing, instrumentation (print, dump, timing), verify-each, no mutation."""

from __future__ import annotations

import io

import numpy as np
import pytest

from kernforge.errors import UnknownPassError, VerificationError
from kernforge.ir import Builder, Value, interpret, region, verify
from kernforge.ir.clone import clone_module
from kernforge.passes import PASSES, PIPELINES, PassManager, count_nodes, parse_pipeline, register_pass, run_pipeline
from kernforge.passes.manager import get_pass


def small_module():
    """add of two constant params, a duplicated mul, a dead exp and an unused param."""
    b = Builder("m")
    f = b.function("main")
    x = f.arg("x", [4])
    a = b.param("a", np.ones(4, np.float32))
    c = b.param("c", np.arange(4, dtype=np.float32))
    b.param("unused", np.zeros(4, np.float32))
    s = f.add(a, c)
    m1, m2 = f.mul(s, x), f.mul(s, x)
    f.exp(x)
    f.ret(f.add(m1, m2))
    return b.module


def fused_module():
    b = Builder("fm")
    f = b.function("main")
    x = f.arg("x", [4])
    r = region("body")
    p = r.arg("p", [4])
    r.neg(p)  # dead inside the region
    r.ret(r.mul(r.add(p, p), r.add(p, p)))
    f.ret(f.op("fused", x, region=r.func))
    return b.module


@pytest.fixture
def scratch_pass():
    """Register test-only passes and remove them afterwards."""
    names = []

    def add(name, fn):
        register_pass(name, "test only")(fn)
        names.append(name)

    yield add
    for n in names:
        PASSES.pop(n, None)


def test_registry_has_builtin_passes_with_descriptions():
    for name in ("dce", "cse", "constant-fold", "canonicalize"):
        info = get_pass(name)
        assert info.name == name and info.description and "\n" not in info.description


def test_register_twice_is_an_error(scratch_pass):
    scratch_pass("tmp-a", lambda m: m)
    with pytest.raises(ValueError):
        register_pass("tmp-a")(lambda m: m)


def test_unknown_pass_lists_known_ones():
    with pytest.raises(UnknownPassError) as e:
        PassManager("dce,no-such-pass")
    msg = str(e.value)
    assert "no-such-pass" in msg and "dce" in msg and "cse" in msg and "constant-fold" in msg
    with pytest.raises(UnknownPassError):
        PassManager("dce", print_ir_after={"nope"})


def test_pipeline_parsing_tolerates_whitespace_and_empty_items():
    assert parse_pipeline(" constant-fold , dce ,, ") == ["constant-fold", "dce"]
    assert parse_pipeline(["cse", " dce "]) == ["cse", "dce"]
    assert parse_pipeline("") == []


def test_named_pipelines_expand_with_or_without_dash():
    assert parse_pipeline("O0") == parse_pipeline("-O0") == []
    assert parse_pipeline("-O1") == ["encode-quantized-weights", "canonicalize"]
    assert parse_pipeline("O2") == parse_pipeline("-O2") == ["encode-quantized-weights", "canonicalize",
                                                             "fold-batchnorm", "canonicalize", "fuse-ops"]
    assert parse_pipeline("-O3, cse") == parse_pipeline(PIPELINES["O3"]) + ["cse"]


def test_o2_optimizes_and_keeps_semantics():
    m = small_module()
    out = run_pipeline(m, "-O2")
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(interpret(out, [x])["out0"], interpret(m, [x])["out0"])
    assert [n.op for n in out.main.nodes] == ["fused"]
    assert [n.op for n in out.main.nodes[0].region.nodes] == ["mul", "add"]
    assert list(out.params) == ["add_folded"]


def test_input_module_is_unchanged():
    m = small_module()
    before = str(m)
    nodes_before = list(m.main.nodes)
    operands_before = [list(n.operands) for n in m.main.nodes]
    out = run_pipeline(m, "constant-fold,cse,dce")
    assert str(m) == before and str(out) != before
    assert m.main.nodes == nodes_before and [n.operands for n in m.main.nodes] == operands_before
    assert set(m.params) == {"a", "c", "unused"}


def test_clone_is_deep_and_shares_params_by_name():
    m = fused_module()
    c = clone_module(m)
    assert str(c) == str(m)
    old, new = m.main.nodes[0], c.main.nodes[0]
    assert old is not new and old.region is not new.region and old.results[0] is not new.results[0]
    assert new.region.nodes[-1].operands[0] is new.region.nodes[1].results[0]
    s = clone_module(small_module())
    add = s.main.nodes[0]
    assert add.operands[0] is s.params["a"] and add.operands[1] is s.params["c"]
    verify(s)


def test_print_ir_after_all_and_selected():
    stream = io.StringIO()
    run_pipeline(small_module(), "constant-fold,cse,dce", print_ir_after_all=True, stream=stream)
    text = stream.getvalue()
    for name in ("constant-fold", "cse", "dce"):
        assert f"// -----// IR Dump After {name} //----- //\nmodule @m {{" in text
    stream = io.StringIO()
    run_pipeline(small_module(), "constant-fold,cse,dce", print_ir_after={"cse"}, stream=stream)
    assert stream.getvalue().count("IR Dump After") == 1 and "IR Dump After cse" in stream.getvalue()


def test_dump_dir_file_names_and_contents(tmp_path):
    m = small_module()
    out = run_pipeline(m, "constant-fold, cse,dce", dump_dir=tmp_path / "dumps")
    files = sorted(p.name for p in (tmp_path / "dumps").iterdir())
    assert files == ["00-input.kf.txt", "01-constant-fold.kf.txt", "02-cse.kf.txt", "03-dce.kf.txt"]
    assert (tmp_path / "dumps" / "00-input.kf.txt").read_text() == str(m)
    assert (tmp_path / "dumps" / "03-dce.kf.txt").read_text() == str(out)


def test_timing_table():
    stream = io.StringIO()
    run_pipeline(small_module(), "-O2", timing=True, stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "// -----// Pass Timing //----- //"
    assert lines[1].split() == ["pass", "ms", "nodes"]
    assert [ln.split()[0] for ln in lines[2:]] == ["encode-quantized-weights", "canonicalize", "fold-batchnorm",
                                                   "canonicalize", "fuse-ops", "total"]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:]}
    assert lines[2].split()[2:] == ["5", "->", "5"]  # no dequantized weights here
    assert lines[3].split()[2:] == ["5", "->", "2"]  # the first canonicalize: fold, CSE and DCE
    assert rows["fuse-ops"][2:] == ["2", "->", "3"]  # node counts include the fused region's nodes
    assert rows["total"][2:] == ["5", "->", "3"]
    assert all(float(r[1]) >= 0 for r in rows.values())


def test_no_output_without_instrumentation(capsys):
    run_pipeline(small_module(), "-O2")
    assert capsys.readouterr() == ("", "")


def test_verify_each_names_the_broken_pass(scratch_pass):
    def break_types(module):
        node = module.main.nodes[0]
        node.results = [Value(node.result.type.with_shape([5]), None, node, 0)]
        return module

    scratch_pass("test-break-types", break_types)
    with pytest.raises(VerificationError, match="after pass 'test-break-types'"):
        run_pipeline(small_module(), "dce,test-break-types,dce")
    # Without verify-each the broken module comes back unverified.
    run_pipeline(small_module(), "test-break-types", verify_each=False)


def test_invalid_input_is_reported_before_any_pass():
    m = small_module()
    m.main.nodes.reverse()  # uses before definitions
    with pytest.raises(VerificationError, match="input module"):
        run_pipeline(m, "dce")


def test_pass_must_return_a_module(scratch_pass):
    scratch_pass("test-returns-none", lambda m: None)
    with pytest.raises(TypeError, match="test-returns-none"):
        run_pipeline(small_module(), "test-returns-none")


def test_count_nodes_descends_into_regions():
    assert count_nodes(fused_module()) == 1 + 4


def test_dce_inside_region_and_cse_inside_region():
    out = run_pipeline(fused_module(), "cse,dce")
    body = out.main.nodes[0].region
    assert [n.op for n in body.nodes] == ["add", "mul"]
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(interpret(out, [x])["out0"], (2 * x) ** 2)


def test_constant_fold_respects_size_limit_and_casts():
    from kernforge.passes.constant_fold import constant_fold

    m = small_module()
    assert [n.op for n in constant_fold(clone_module(m), limit=3).main.nodes][0] == "add"
    folded = constant_fold(clone_module(m))
    assert folded.params["add_folded"].data.dtype == np.float32
    np.testing.assert_array_equal(folded.params["add_folded"].data, [1, 2, 3, 4])


def test_fold_batchnorm_keeps_numerics_on_a_random_conv_bn():
    import numpy as np

    from kernforge.ir import Builder, interpret
    from kernforge.passes import run_pipeline

    rng = np.random.default_rng(0)
    b = Builder()
    w = b.param("w", rng.standard_normal((8, 2, 3, 3)).astype(np.float32))  # grouped: 4 channels, 2 groups
    bias = b.param("bias", rng.standard_normal(8).astype(np.float32))
    bn = [b.param(n, (rng.random(8) + 0.5).astype(np.float32)) for n in ("s", "t", "m", "v")]
    f = b.function()
    x = f.arg("x", [1, 4, 6, 6])
    f.ret(f.batch_norm(f.conv2d(x, w, bias, group=2, pads=[1, 1, 1, 1]), *bn, epsilon=1e-3))
    folded = run_pipeline(b.module, "fold-batchnorm,dce")
    assert [n.op for n in folded.main.nodes] == ["conv2d"]
    xv = rng.standard_normal((1, 4, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(interpret(folded, [xv])["out0"], interpret(b.module, [xv])["out0"], rtol=1e-5, atol=1e-5)
