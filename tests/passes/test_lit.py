"""Lit-style pass tests: each tests/passes/*.kf.txt has `// RUN:` lines, an input module and FileCheck lines.

A RUN line is `<pipeline>` (run through kernforge.passes.run_pipeline) or `kernforge opt %s ...`
(run through the CLI), optionally followed by `| filecheck --check-prefix=P`. Its output is
checked with the `filecheck` tool, using the lit file itself as the check file.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kernforge.ir import parse_module
from kernforge.passes import run_pipeline

LIT_DIR = Path(__file__).parent
LIT_FILES = sorted(LIT_DIR.glob("*.kf.txt"))
FILECHECK = str(Path(sys.executable).parent / "filecheck")


def run_lines(path: Path) -> list[str]:
    return [ln.split("RUN:", 1)[1].strip() for ln in path.read_text().splitlines() if ln.startswith("// RUN:")]


def run_one(path: Path, command: str) -> str:
    """The IR text a RUN command produces."""
    if command.startswith("kernforge "):
        args = shlex.split(command.replace("%s", shlex.quote(str(path))))[1:]
        proc = subprocess.run([sys.executable, "-m", "kernforge", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        return proc.stdout
    return str(run_pipeline(parse_module(path.read_text(), str(path)), command))


def filecheck(check_file: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FILECHECK, *args, str(check_file)], input=text, capture_output=True, text=True)


CASES = [pytest.param(p, r, id=f"{p.name}:{i}") for p in LIT_FILES for i, r in enumerate(run_lines(p), 1)]


@pytest.mark.parametrize("path,run", CASES)
def test_lit(path: Path, run: str):
    command, _, check = run.partition("|")
    check_args = shlex.split(check)[1:] if check.strip() else []
    output = run_one(path, command.strip())
    result = filecheck(path, output, *check_args)
    assert result.returncode == 0, f"{path.name}: RUN: {run}\n{result.stderr}\n--- output ---\n{output}"


def test_every_lit_file_has_run_and_check_lines():
    assert len(LIT_FILES) >= 5
    for path in LIT_FILES:
        text = path.read_text()
        assert run_lines(path), path.name
        assert "// CHECK" in text, path.name


def test_filecheck_rejects_wrong_output():
    """Guards against a vacuous harness: the unoptimized module must fail the optimized checks."""
    path = LIT_DIR / "o2.kf.txt"
    unoptimized = str(parse_module(path.read_text(), str(path)))
    assert filecheck(path, unoptimized).returncode != 0
    assert filecheck(path, unoptimized, "--check-prefix=O0").returncode == 0
