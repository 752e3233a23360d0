"""The pass registry and PassManager: parse a pipeline string, run it on a copy, instrument every step."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from ..errors import UnknownPassError, VerificationError
from ..ir.clone import clone_module
from ..ir.graph import Module
from ..ir.verifier import verify
from .pipelines import PIPELINES, pipeline_key

PassFn = Callable[[Module], Module]


@dataclass(frozen=True)
class PassInfo:
    """A registered pass: its name, one-line description and the function that runs it."""

    name: str
    description: str
    fn: PassFn
    option: str | None = None  # the default option of a pass run as "name=option"; None: takes none


PASSES: dict[str, PassInfo] = {}


def register_pass(name: str, description: str | None = None, option: str | None = None) -> Callable[[PassFn], PassFn]:
    """Decorator: register `fn(Module) -> Module` under name; description defaults to its docstring.
    A pass with a default option is `fn(Module, option)` and runs as "name" or "name=option"."""

    def wrap(fn: PassFn) -> PassFn:
        if name in PASSES and PASSES[name].fn is not fn:
            raise ValueError(f"pass '{name}' registered twice")
        if pipeline_key(name) is not None:
            raise ValueError(f"pass name '{name}' clashes with a named pipeline")
        doc = description if description is not None else ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        PASSES[name] = PassInfo(name, doc, fn, option)
        return fn

    return wrap


def get_pass(name: str) -> PassInfo:
    try:
        return PASSES[name]
    except KeyError:
        raise UnknownPassError(f"unknown pass '{name}'; known passes: {_known()}") from None


def _known() -> str:
    return ", ".join(sorted(PASSES)) + "; pipelines: " + ", ".join(f"-{k}" for k in PIPELINES)


def parse_pipeline(pipeline: str | Iterable[str], _depth: int = 0) -> list[str]:
    """Expand "a, b,O2" (or a list of names) into the flat list of registered pass names."""
    items = pipeline.split(",") if isinstance(pipeline, str) else list(pipeline)
    names: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        key = pipeline_key(item)
        if key is not None:
            if _depth > 8:  # a named pipeline that names itself
                raise UnknownPassError(f"named pipeline '{item}' expands recursively")
            names += parse_pipeline(PIPELINES[key], _depth + 1)
        else:
            name, _, option = item.partition("=")
            info = get_pass(name.strip())
            if option and info.option is None:
                raise UnknownPassError(f"pass '{info.name}' takes no option, got '{item}'")
            names.append(f"{info.name}={option.strip()}" if option else info.name)
    return names


def count_nodes(module: Module) -> int:
    """Nodes in every function, regions included."""
    return sum(1 for f in module.functions.values() for _ in f.walk())


class PassManager:
    """Runs a pipeline on a clone of the module, with IR printing, dumps, timing and verify-each."""

    def __init__(self, pipeline: str | Iterable[str], print_ir_after_all: bool = False,
                 print_ir_after: Iterable[str] = (), dump_dir: str | os.PathLike | None = None,
                 verify_each: bool = True, timing: bool = False, stream: TextIO | None = None):
        self.passes = parse_pipeline(pipeline)
        self.print_ir_after_all = print_ir_after_all
        after = print_ir_after.split(",") if isinstance(print_ir_after, str) else print_ir_after
        self.print_ir_after = {get_pass(n.strip().partition("=")[0]).name for n in after if n.strip()}
        self.dump_dir = dump_dir
        self.verify_each, self.timing = verify_each, timing
        self.stream = stream  # None: sys.stderr at run time, so pytest's capture sees it

    def run(self, module: Module) -> Module:
        """Run every pass in order; the input module is never modified."""
        stream = self.stream or sys.stderr
        if self.verify_each:
            _verify(module, "on the input module")
        current = clone_module(module)
        self._dump(0, "input", current)
        rows = []
        for i, name in enumerate(self.passes, 1):
            before, start = count_nodes(current), time.perf_counter()
            current = self._run_one(name, current)
            rows.append((name, (time.perf_counter() - start) * 1e3, before, count_nodes(current)))
            if self.verify_each:
                _verify(current, f"after pass '{name}'")
            if self.print_ir_after_all or name.partition("=")[0] in self.print_ir_after:
                stream.write(f"// -----// IR Dump After {name} //----- //\n{current}\n")
            self._dump(i, name, current)
        if self.timing:
            stream.write(format_timing(rows))
        return current

    @staticmethod
    def _run_one(name: str, module: Module) -> Module:
        name, _, option = name.partition("=")
        info = PASSES[name]
        result = info.fn(module) if info.option is None else info.fn(module, option or info.option)
        if not isinstance(result, Module):
            raise TypeError(f"pass '{name}' returned {type(result).__name__}, not a Module")
        return result

    def _dump(self, index: int, name: str, module: Module) -> None:
        if self.dump_dir is None:
            return
        os.makedirs(self.dump_dir, exist_ok=True)
        with open(os.path.join(self.dump_dir, f"{index:02d}-{name}.kf.txt"), "w") as f:
            f.write(str(module))


def _verify(module: Module, when: str) -> None:
    try:
        verify(module)
    except VerificationError as e:
        raise VerificationError(f"verification failed {when}: {e}") from None


def format_timing(rows: list[tuple[str, float, int, int]]) -> str:
    """A per-pass table: name, milliseconds, node count before -> after, and a total row."""
    if rows:
        rows = rows + [("total", sum(r[1] for r in rows), rows[0][2], rows[-1][3])]
    width = max([len("pass")] + [len(r[0]) for r in rows])
    lines = ["// -----// Pass Timing //----- //", f"{'pass':<{width}}  {'ms':>9}  nodes"]
    lines += [f"{n:<{width}}  {ms:>9.3f}  {a} -> {b}" for n, ms, a, b in rows]
    return "\n".join(lines) + "\n"


def run_pipeline(module: Module, pipeline: str | Iterable[str], **options) -> Module:
    """Run a pipeline string such as "constant-fold,dce" or "-O2" and return the new module."""
    return PassManager(pipeline, **options).run(module)
