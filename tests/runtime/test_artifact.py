import json
import zipfile

import numpy as np
import pytest

import kernforge
from kernforge.runtime.artifact import ArtifactError

from ..models import affine_relu


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("art") / "m.kfa")
    cm = kernforge.compile(affine_relu(), input_shapes={"x": [4, 64]})
    cm.save(path)
    return cm, path


def test_save_load_round_trip(saved):
    cm, path = saved
    loaded = kernforge.load(path)
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    for a, b in zip(cm(x), loaded(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.ir() == cm.ir()
    assert loaded.meta["target"]["kind"] == "llvm" and loaded.meta["sha256"]


def _rewrite(src: str, dst: str, edit) -> None:
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    edit(members)
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def _set_meta(key, value):
    def edit(members):
        meta = json.loads(members["meta.json"])
        meta[key] = value
        members["meta.json"] = json.dumps(meta).encode()
    return edit


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.__setitem__("params.npz", m["params.npz"][:-3] + b"xyz"), "content hash mismatch"),
    (lambda m: m.__setitem__("plan.json", b"{}"), "content hash mismatch"),
    (lambda m: m.pop("lib.so"), "not a kernforge artifact or is corrupt"),
    (_set_meta("tvm", "0.1.0"), "built with TVM 0.1.0"),
    (_set_meta("kernforge", "9.9"), "built by kernforge 9.9"),
    (_set_meta("target", {"kind": "llvm", "mcpu": "a64fx"}), "compiled for CPU a64fx"),
    (_set_meta("target", {"kind": "cuda"}), "targets cuda"),
])
def test_corrupt_or_foreign_artifacts_are_refused(saved, tmp_path, edit, message):
    bad = str(tmp_path / "bad.kfa")
    _rewrite(saved[1], bad, edit)
    with pytest.raises(ArtifactError, match=message):
        kernforge.load(bad)


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.kfa"
    p.write_bytes(b"hello")
    with pytest.raises(ArtifactError, match="not a kernforge artifact"):
        kernforge.load(str(p))


def test_load_in_a_new_process(saved, tmp_path):
    import subprocess
    import sys

    cm, path = saved
    x = np.random.default_rng(3).standard_normal((4, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, kernforge; cm = kernforge.load(sys.argv[1]); "
            "np.save(sys.argv[3], cm(np.load(sys.argv[2]))[0])")
    subprocess.run([sys.executable, "-c", code, path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), cm(x)[0])


def test_truncated_artifact_is_refused(saved, tmp_path):
    data = open(saved[1], "rb").read()
    bad = tmp_path / "truncated.kfa"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a kernforge artifact or is corrupt"):
        kernforge.load(str(bad))


def test_a_loaded_model_saves_again(saved, tmp_path):
    cm, path = saved
    again = str(tmp_path / "again.kfa")
    kernforge.load(path).save(again)
    x = np.random.default_rng(4).standard_normal((4, 64)).astype(np.float32)
    np.testing.assert_array_equal(kernforge.load(again)(x)[0], cm(x)[0])
