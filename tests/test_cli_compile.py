import json
import subprocess
import sys

import numpy as np
import pytest

from kernforge.cli import main
from kernforge.cli_compile import parse_input_shapes
from kernforge.errors import KernforgeError
from kernforge.ir import interpret

from .models import affine_relu


def kf(*args):
    return subprocess.run([sys.executable, "-m", "kernforge", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def ir_file(tmp_path_factory):
    """IR text with every param inline (the printer elides big ones, so keep them small)."""
    path = tmp_path_factory.mktemp("cli") / "affine.kf.txt"
    path.write_text(str(affine_relu(features=8)))
    return path


@pytest.fixture(scope="module")
def artifact(ir_file):
    out = ir_file.with_suffix(".kfa")
    r = kf("compile", str(ir_file), "-o", str(out), "--input-shapes", "x:[3,8]", "-O", "2")
    assert r.returncode == 0, r.stderr
    # -O2 fuses mul+add; the clip stays apart because its input (pre) is also an output.
    assert "2 kernels" in r.stdout and "inputs x[3, 8]" in r.stdout
    return out


def test_run_with_inputs_and_outputs(artifact, tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    r = kf("run", str(artifact), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz"))
    assert r.returncode == 0, r.stderr
    out = np.load(tmp_path / "out.npz")
    ref = interpret(affine_relu(features=8), {"x": x})
    np.testing.assert_allclose(out["y"], ref["y"], rtol=1e-6)
    assert "y: shape [3, 8] float32" in r.stdout


def test_run_random_inputs_benchmark_and_profile(artifact, tmp_path, monkeypatch):
    from kernforge.runtime.peaks import Peaks, host_key, save_peaks

    monkeypatch.setenv("KERNFORGE_CACHE_DIR", str(tmp_path))  # the subprocess reads these peaks, measures none
    save_peaks(Peaks(10.0, 5.0, host_key()))
    r = kf("run", str(artifact), "--benchmark", "5", "--profile")
    assert r.returncode == 0, r.stderr
    assert "latency: median" in r.stdout and "total" in r.stdout and "injective" in r.stdout
    assert "waterline:" in r.stdout and "10.0 GFLOP/s, 5.0 GB/s" in r.stdout


def test_inspect_artifact_lists_kernel_rules(artifact):
    r = kf("inspect", str(artifact), "--json")
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["kernels"] and all(k["rule"] != "naive" for k in stats["kernels"])
    assert stats["kernel_calls"] == 2 and stats["inputs"][0]["type"] == "tensor<3x8xf32>"


@pytest.mark.parametrize("args, message", [
    (["run", "missing.kfa"], "artifact not found: missing.kfa"),
    (["compile", "missing.onnx", "-o", "x.kfa"], "model file not found"),
    (["compile", "{ir}", "-o", "x.kfa", "--input-shapes", "x[3,8]"], "--input-shapes: cannot read"),
    (["compile", "{ir}", "-o", "x.kfa", "--target", "{bad json"], "--target: invalid JSON"),
    (["compile", "{ir}", "-o", "x.kfa", "--target", "tpu"], "unknown target kind 'tpu'"),
])
def test_errors_are_one_line(ir_file, tmp_path, args, message, capsys):
    args = [a.replace("{ir}", str(ir_file)) for a in args]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kernforge: error:") and message in err


def test_parse_input_shapes():
    assert parse_input_shapes("x:[1,3,224,224], mask:[1,128]") == {"x": [1, 3, 224, 224], "mask": [1, 128]}
    with pytest.raises(KernforgeError, match="must be sizes"):
        parse_input_shapes("x:[1,-3]")


def test_compile_with_an_explicit_pipeline_runs_exactly_those_passes(ir_file, tmp_path):
    out = tmp_path / "unfused.kfa"
    r = kf("compile", str(ir_file), "-o", str(out), "--input-shapes", "x:[3,8]", "--pipeline", "canonicalize")
    assert r.returncode == 0, r.stderr
    assert "3 kernels" in r.stdout  # no fuse-ops: mul, add and clip each run alone
    bad = kf("compile", str(ir_file), "-o", str(out), "--pipeline", "canonicalize,no-such-pass")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "no-such-pass" in bad.stderr
