"""The `.kfa` artifact: one zip holding the compiled library, plan, params, final IR and metadata."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass

import numpy as np

from ..errors import KernforgeError
from ..ir.types import DTYPES, dtype
from .plan import Plan

FORMAT_VERSION = 1
_MEMBERS = ("lib.so", "plan.json", "params.npz", "ir.kf.txt")


class ArtifactError(KernforgeError):
    """A corrupt, foreign or incompatible `.kfa` artifact."""


@dataclass
class Artifact:
    """Everything a compiled model needs at run time, as plain data plus a library path."""

    lib_path: str
    lib_so: bytes
    plan: Plan
    params: dict[str, np.ndarray]
    ir_text: str
    meta: dict


def _params_blob(params: dict[str, np.ndarray]) -> tuple[bytes, dict]:
    """np.savez cannot keep ml_dtypes types: store raw bytes and the IR dtype name beside them."""
    buf, types, raw = io.BytesIO(), {}, {}
    for k, v in params.items():
        v = np.require(v, requirements="C")  # ascontiguousarray would make 0-d arrays 1-d
        types[k] = [dtype(v.dtype).name, list(v.shape)]
        raw[k] = v.reshape(-1).view(np.uint8)
    np.savez(buf, **raw)
    return buf.getvalue(), types


def _load_params(blob: bytes, types: dict) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob)) as npz:
        return {k: npz[k].view(DTYPES[t].numpy).reshape(shape) for k, (t, shape) in types.items()}


def library_bytes(lib) -> bytes:
    """The shared library of a freshly built TVM executable, as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        lib_file = os.path.join(tmp, "lib.so")
        lib.export_library(lib_file)
        with open(lib_file, "rb") as f:
            return f.read()


def save_artifact(path: str, lib_so: bytes, plan: Plan, params: dict[str, np.ndarray], ir_text: str,
                  meta: dict) -> None:
    """Write the artifact; meta gets the param dtypes and a sha256 over every member."""
    blob, types = _params_blob(params)
    members = {"lib.so": lib_so, "plan.json": json.dumps(plan.to_json()).encode(),
               "params.npz": blob, "ir.kf.txt": ir_text.encode()}
    meta = dict(meta, format=FORMAT_VERSION, param_types=types, sha256=_digest(members))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("meta.json", json.dumps(meta, indent=1))


def _digest(members: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in _MEMBERS:
        h.update(name.encode() + b"\0" + members[name])
    return h.hexdigest()


def read_artifact(path: str, workdir: str) -> Artifact:
    """Read and check an artifact; the library is extracted into workdir."""
    try:
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in _MEMBERS}
            meta = json.loads(z.read("meta.json"))
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ArtifactError(f"{path} is not a kernforge artifact or is corrupt: {e}") from None
    if meta.get("format") != FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format {meta.get('format')} is not {FORMAT_VERSION}")
    if meta.get("sha256") != _digest(members):
        raise ArtifactError(f"{path}: content hash mismatch; the artifact is corrupt")
    lib_path = os.path.join(workdir, "lib.so")
    with open(lib_path, "wb") as f:
        f.write(members["lib.so"])
    plan = Plan.from_json(json.loads(members["plan.json"]))
    params = _load_params(members["params.npz"], meta["param_types"])
    return Artifact(lib_path, members["lib.so"], plan, params, members["ir.kf.txt"].decode(), meta)
