"""The `kernforge` CLI: opt (files, stdin, -o, instrumentation), inspect (table, JSON), one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kernforge.cli import main
from kernforge.ir import parse_module

TESTS = Path(__file__).parent
ALL_IR_FILES = sorted(TESTS.rglob("*.kf.txt"))

MATMUL = """\
module @mm {
  param @w : tensor<8x16xf32>
  func @main(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
    %0 = matmul(%x, @w) : tensor<4x16xf32>
    %1 = relu(%0) : tensor<4x16xf32>
    return %1
  }
}
"""

FOLDABLE = """\
module @f {
  param @a : tensor<2xf32> = dense<[1.0, 2.0]>
  param @b : tensor<2xf32> = dense<[3.0, 4.0]>
  func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %0 = add(@a, @b) : tensor<2xf32>
    %1 = mul(%x, %0) : tensor<2xf32>
    %2 = exp(%x) : tensor<2xf32>
    return %1
  }
}
"""

FOLDED = """\
module @f {
  param @add_folded : tensor<2xf32> = dense<[4.0, 6.0]>
  func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %0 = mul(%x, @add_folded) : tensor<2xf32>
    return %0
  }
}
"""


def kernforge(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kernforge", *args], input=stdin, capture_output=True, text=True)


def write(tmp_path: Path, text: str, name: str = "in.kf.txt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def assert_one_line_error(proc_or_err: str, code: int, fragment: str) -> None:
    assert code == 1
    lines = proc_or_err.splitlines()
    assert len(lines) == 1, proc_or_err
    assert lines[0].startswith("kernforge: error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in proc_or_err


# ---- opt ---------------------------------------------------------------------------------------

def test_opt_to_stdout(tmp_path, capsys):
    assert main(["opt", write(tmp_path, FOLDABLE), "--pipeline", "constant-fold, dce"]) == 0
    assert capsys.readouterr() == (FOLDED, "")


def test_opt_to_output_file(tmp_path, capsys):
    out = tmp_path / "out.kf.txt"
    assert main(["opt", write(tmp_path, FOLDABLE), "-p", "O1", "-o", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    assert out.read_text() == FOLDED


def test_opt_target_weighs_cost_rules_as_compile_does(tmp_path, capsys):
    """A 2:4-pruned layer over 16 rows (an ONNX MatMul): dense by the target-independent rule, N:M for an
    AVX-512 target (its lookup GEMM), dense again for an AVX2 one."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "layer",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 32])], [w])
    src = str(tmp_path / "layer.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), src)
    ops = {}
    for name, target in [("none", []), ("avx512", ["--target", '{"kind": "llvm", "mcpu": "skylake-avx512"}']),
                         ("avx2", ["--target", '{"kind": "llvm", "mcpu": "znver3"}'])]:
        assert main(["opt", src, "-p", "sparsify=2:4-prune", *target]) == 0
        ops[name] = "nm_linear(" in capsys.readouterr().out
    assert ops == {"none": False, "avx512": True, "avx2": False}


def test_opt_o_level_flag_and_named_pipeline(tmp_path, capsys):
    src = write(tmp_path, FOLDABLE)
    for args in (["-O2"], ["--pipeline=-O2"], ["--pipeline", "O2"]):
        assert main(["opt", src, *args]) == 0
        assert capsys.readouterr().out == FOLDED
    assert main(["opt", src, "-O0"]) == 0
    assert capsys.readouterr().out == str(parse_module(FOLDABLE))


def test_opt_subprocess_stdin_and_file_agree(tmp_path):
    src = write(tmp_path, FOLDABLE)
    from_file = kernforge("opt", src, "--pipeline", "constant-fold,dce")
    from_stdin = kernforge("opt", "-", "--pipeline", "constant-fold,dce", stdin=FOLDABLE)
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout == FOLDED and from_file.stderr == ""


@pytest.mark.parametrize("path", ALL_IR_FILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_opt_output_is_a_fixed_point(path, capsys, monkeypatch):
    """`kernforge opt F | kernforge opt -` prints exactly what `kernforge opt F` prints."""
    assert main(["opt", str(path)]) == 0
    first = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(first))
    assert main(["opt", "-"]) == 0
    assert capsys.readouterr().out == first


def test_opt_shell_pipe(tmp_path):
    src = write(tmp_path, FOLDABLE)
    cmd = f"{sys.executable} -m kernforge opt {src} | {sys.executable} -m kernforge opt -"
    piped = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stdout == kernforge("opt", src).stdout


def test_opt_print_ir_after_goes_to_stderr(tmp_path, capsys):
    src = write(tmp_path, FOLDABLE)
    assert main(["opt", src, "-p", "constant-fold,cse,dce", "--print-ir-after", "cse,dce"]) == 0
    out, err = capsys.readouterr()
    assert out == FOLDED
    assert err.count("// -----// IR Dump After ") == 2
    assert err.startswith("// -----// IR Dump After cse //----- //\nmodule @f {\n")
    assert "// -----// IR Dump After dce //----- //\n" + FOLDED in err
    assert main(["opt", src, "-p", "constant-fold,dce", "--print-ir-after-all"]) == 0
    err = capsys.readouterr().err
    assert "IR Dump After constant-fold" in err and "IR Dump After dce" in err


def test_opt_dump_dir_and_timing(tmp_path, capsys):
    dumps = tmp_path / "dumps"
    assert main(["opt", write(tmp_path, FOLDABLE), "-O2", "--dump-dir", str(dumps), "--timing"]) == 0
    out, err = capsys.readouterr()
    assert sorted(p.name for p in dumps.iterdir()) == [
        "00-input.kf.txt", "01-encode-quantized-weights.kf.txt", "02-canonicalize.kf.txt", "03-fold-batchnorm.kf.txt",
        "04-canonicalize.kf.txt", "05-fuse-ops.kf.txt"]
    assert (dumps / "05-fuse-ops.kf.txt").read_text() == out == FOLDED
    assert "Pass Timing" in err and "total" in err and "3 -> 1" in err


def test_opt_no_verify_skips_the_verifier(tmp_path, capsys):
    bad = FOLDABLE.replace("%2 = exp(%x) : tensor<2xf32>", "%2 = exp(%x) : tensor<3xf32>")
    src = write(tmp_path, bad)
    assert main(["opt", src]) == 1
    assert "verification failed on the input module" in capsys.readouterr().err
    assert main(["opt", src, "--no-verify"]) == 0
    assert "exp(%x) : tensor<3xf32>" in capsys.readouterr().out


# ---- inspect -----------------------------------------------------------------------------------

def test_inspect_json(tmp_path, capsys):
    assert main(["inspect", write(tmp_path, MATMUL), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["ops"] == {"matmul": 1, "relu": 1}
    assert stats["nodes"] == 2
    assert stats["params"] == 1 and stats["param_bytes"] == 8 * 16 * 4
    assert stats["flops"] == 2 * 4 * 8 * 16 + 4 * 16
    # matmul reads x and w and writes y; relu reads and writes y
    assert stats["bytes"] == (4 * 8 + 8 * 16 + 4 * 16) * 4 + 2 * 4 * 16 * 4
    assert stats["inputs"] == [{"name": "x", "type": "tensor<4x8xf32>"}]
    assert stats["outputs"] == [{"name": "out0", "type": "tensor<4x16xf32>"}]


def test_inspect_counts_inside_fused_regions_and_encoded_params(tmp_path, capsys):
    text = """\
module @q {
  param @wq : tensor<64x128xi4, #quant<bits=4, group=128, axis=1, scale=f16, zero=u4>>
  param @b : tensor<4xf32>
  func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    %0 = fused(%x, @b) {kind = "add_relu"} : tensor<4xf32> {
      func @add_relu(%a: tensor<4xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
        %0 = add(%a, %c) : tensor<4xf32>
        %1 = relu(%0) : tensor<4xf32>
        return %1
      }
    }
    return %0
  }
}
"""
    from kernforge.ir.types import tensor

    module = parse_module(text)
    assert main(["inspect", write(tmp_path, text), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["ops"] == {"fused": 1, "add": 1, "relu": 1} and stats["nodes"] == 3
    assert stats["flops"] == 8
    assert stats["bytes"] == 3 * 16  # one kernel: x and b in, one result out
    wq = module.params["wq"].type
    assert stats["param_bytes"] == wq.nbytes + 16
    assert wq.nbytes != tensor([64, 128], "i4").nbytes  # the encoding's scales and zeros count


def test_inspect_table(tmp_path, capsys):
    assert main(["inspect", write(tmp_path, MATMUL)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["module", "@mm"]
    assert "inputs   %x: tensor<4x8xf32>" in out
    assert "flops    1,088" in out and "params   1 (512 B)" in out
    assert any(ln.split() == ["matmul", "1"] for ln in lines)


def test_inspect_subprocess_json():
    proc = kernforge("inspect", str(TESTS / "passes" / "o2.kf.txt"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ops"] == {"mul": 4, "add": 2, "sqrt": 1}


# ---- errors: one line, exit 1, no traceback ---------------------------------------------------

BAD_CASES = {
    "syntax": (FOLDABLE.replace("%1 = mul(", "%1 = mul(("), ["opt"], "in.kf.txt:"),
    "unknown-op": (FOLDABLE.replace("exp(", "frobnicate("), ["opt"], "frobnicate"),
    "unknown-pass": (FOLDABLE, ["opt", "--pipeline", "dce,no-such-pass"], "no-such-pass"),
    "type-mismatch": (FOLDABLE.replace("%2 = exp(%x) : tensor<2xf32>", "%2 = exp(%x) : tensor<3xf32>"),
                      ["opt"], "inferred"),
    "inspect-syntax": ("module @m {", ["inspect"], "in.kf.txt:"),
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_user_errors_are_one_line(name, tmp_path):
    text, cmd, fragment = BAD_CASES[name]
    src = write(tmp_path, text)
    proc = kernforge(cmd[0], src, *cmd[1:])
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, proc.returncode, fragment)


@pytest.mark.parametrize("cmd", ["opt", "inspect"])
def test_missing_file(cmd, tmp_path):
    proc = kernforge(cmd, str(tmp_path / "nope.kf.txt"))
    assert_one_line_error(proc.stderr, proc.returncode, "nope.kf.txt")


def test_unreadable_files(tmp_path, capsys):
    assert main(["opt", str(tmp_path)]) == 1  # a directory
    assert_one_line_error(capsys.readouterr().err, 1, str(tmp_path))
    binary = tmp_path / "bin.kf.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["inspect", str(binary)]) == 1
    assert_one_line_error(capsys.readouterr().err, 1, "not a UTF-8 text file")


def test_unwritable_output(tmp_path, capsys):
    src = write(tmp_path, FOLDABLE)
    assert main(["opt", src, "-o", str(tmp_path / "no" / "such" / "dir.kf.txt")]) == 1
    assert_one_line_error(capsys.readouterr().err, 1, "dir.kf.txt")


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["bogus"], ["opt"], ["opt", "x", "-O7"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "usage: kernforge" in capsys.readouterr().err
