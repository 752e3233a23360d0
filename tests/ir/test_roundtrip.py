"""Text round trips: IR files print back exactly as written; random modules print, parse and
print to the same text.

IR files: every `*.kf.txt` under tests/ (any engineer may add some) is written in canonical
printed form, except that whole lines whose first non-blank characters are `//` are comments
(RUN/CHECK directives, notes) and blank lines may separate things. The printer never prints
either, so the expected text is the file with comment lines and blank lines removed. A file that must not round-trip (e.g. a deliberately broken
input) opts out with a line `// roundtrip: skip`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from kernforge.ir import parse_module, print_module, verify

from .strategies import attr_test_op, modules

TESTS = Path(__file__).resolve().parents[1]
FILES = sorted(TESTS.rglob("*.kf.txt"))
SKIP_MARK = "// roundtrip: skip"


def canonical(text: str) -> str:
    """What the printer should give for a file: its lines minus comment lines and blank lines."""
    lines = [line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("//")]
    return "".join(line + "\n" for line in lines)


def test_canonical_drops_comment_and_blank_lines():
    assert canonical("// a\n\n// b\nmodule @m {\n  // c\n\n}\n\n// d\n") == "module @m {\n}\n"


def test_there_are_ir_files():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_ir_file_prints_back_exactly(path: Path):
    text = path.read_text()
    if SKIP_MARK in text.split("\n"):
        pytest.skip("file opts out of the round trip")
    assert print_module(parse_module(text, str(path))) == canonical(text)


@pytest.fixture(scope="module")
def with_attr_op():
    """kf_test_attrs (every attribute kind) exists only while this module's tests run."""
    with attr_test_op():
        yield


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=modules())
def test_print_parse_print_is_stable(with_attr_op, module):
    text1 = print_module(module)
    parsed = parse_module(text1)
    assert print_module(parsed) == text1
    verify(parsed)
