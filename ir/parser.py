"""The IR text parser: lark (LALR) tree -> Module. Accepts exactly what ir/printer.py prints."""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import re

import numpy as np
from lark import Lark, Token, Transformer, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, v_args
from lark.exceptions import VisitError

from ..errors import KernforgeError, ParseError
from .encodings import Encoding, make_encoding
from .graph import Function, Module, Node, Param, Value
from .ops import get_op
from .types import DTYPES, DType, TensorType

# Readable names for the regex terminals of grammar.lark (string terminals print as 'text').
_TERMINALS = {
    "VALUE": "a %value", "SYMBOL": "an @name", "NAME": "a name", "NUMBER": "a number",
    "INT": "an integer", "DTYPE": "a dtype like f32", "STRING": "a string", "ENC": "an #encoding",
    "DIMS": "dimensions like 2x?n x", "BLOCK": "a block size like 16x16", "$END": "end of input",
}
_DIM = re.compile(r"(\d+|\?[A-Za-z_][A-Za-z0-9_.]*\s+|\?\s*)x\s*")  # one dim of the DIMS token
_WORDS = {"true": True, "false": False, "none": None, "inf": math.inf, "nan": math.nan}


@functools.cache
def _lark() -> Lark:
    grammar = importlib.resources.files(__package__).joinpath("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


def parse_module(text: str, source: str = "<input>") -> Module:
    """Parse IR text into a Module; any problem raises ParseError with its line and column."""
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, text, source) from None
    try:
        tree = _Leaves(source).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, ParseError):
            raise e.orig_exc from None
        raise
    return _Builder(source).module(tree.children[0])


# ---- syntax errors ---------------------------------------------------------------------------


def _describe_terminal(name: str) -> str:
    if name in _TERMINALS:
        return _TERMINALS[name]
    for term in _lark().terminals:
        if term.name == name and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return name.lower()


def _one_of(names) -> str:
    items = sorted({_describe_terminal(n) for n in names})
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _syntax_error(e: UnexpectedInput, text: str, source: str) -> ParseError:
    """Translate lark's exception into a ParseError naming what was found and what was expected."""
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = e.accepts or e.expected
        if tok.type == "$END":
            # lark gives end of input the position of the last token; point just after it.
            line, col = (tok.end_line, tok.end_column) if tok.end_line else (1, 1)
            return ParseError(f"unexpected end of input; expected {_one_of(expected)}", line, col, source)
        return ParseError(f"unexpected '{tok}'; expected {_one_of(expected)}", tok.line, tok.column, source)
    if isinstance(e, UnexpectedCharacters):
        found = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        want = f"; expected {_one_of(e.allowed)}" if e.allowed else ""
        return ParseError(f"unexpected character {found!r}{want}", e.line, e.column, source)
    return ParseError(f"unexpected end of input; expected {_one_of(getattr(e, 'expected', []))}",
                      max(1, e.line), max(1, e.column), source)


# ---- leaves: types, encodings, attribute values ---------------------------------------------


class _Attrs:
    """A parsed {k = v} dict and where it starts (for attribute errors)."""

    def __init__(self, values: dict, line: int, column: int):
        self.values, self.line, self.column = values, line, column


class _Leaves(Transformer):
    """Turns the self-contained subtrees (types, encodings, attributes, params) into objects."""

    def __init__(self, source: str):
        super().__init__(visit_tokens=False)
        self.source = source

    def error(self, msg: str, at) -> ParseError:
        return ParseError(msg, at.line, at.column, self.source)

    def number(self, children):
        (tok,) = children
        if tok == "-inf":
            return -math.inf
        return float(tok) if any(c in tok for c in ".eE") else int(tok)

    def string(self, children):
        try:
            return json.loads(children[0])
        except ValueError as e:
            raise self.error(f"invalid string {children[0]}: {e}", children[0]) from None

    def word(self, children):
        (tok,) = children
        if tok in _WORDS:
            return _WORDS[tok]
        if tok in DTYPES:
            return DTYPES[tok]
        raise self.error(f"unknown name '{tok}'; expected a number, a string, true, false, none, "
                         "a dtype or a list", tok)

    def list(self, children):
        return list(children)

    def attr(self, children):
        return tuple(children)

    @v_args(meta=True)
    def attr_dict(self, meta, children):
        values: dict = {}
        for key, value in children:
            if key in values:
                raise self.error(f"duplicate attribute '{key}'", key)
            values[str(key)] = value
        return _Attrs(values, meta.line, meta.column)

    def dims(self, children):
        if not children:
            return ()
        parts = [m.group(1).strip() for m in _DIM.finditer(children[0])]
        return tuple(int(p) if p.isdigit() else (p[1:] or None) for p in parts)

    def dtype(self, children):
        (tok,) = children
        if tok not in DTYPES:
            raise self.error(f"unknown dtype '{tok}'; expected one of {', '.join(DTYPES)}", tok)
        return DTYPES[tok]

    def layout(self, children):
        return str(children[0])

    def tensor_type(self, children):
        shape, dt, *extra = children
        layout = next((x for x in extra if isinstance(x, str)), None)
        encoding = next((x for x in extra if isinstance(x, Encoding)), None)
        return TensorType(shape, dt, layout, encoding)

    def enc_named(self, children):
        key, tok = children
        value = int(tok) if tok.type == "INT" else DTYPES.get(str(tok), str(tok))
        return ("named", str(key), value)

    def enc_ratio(self, children):
        return ("positional", [int(children[0]), int(children[1])])

    def enc_block(self, children):
        return ("positional", [int(x) for x in children[0].split("x")])

    def encoding(self, children):
        tok, *items = children
        positional, named = [], {}
        for item in items:
            if item[0] == "named":
                if item[1] in named:
                    raise self.error(f"duplicate key '{item[1]}' in {tok}", tok)
                named[item[1]] = item[2]
            else:
                positional += item[1]
        try:
            return make_encoding(tok[1:], positional, named)
        except KernforgeError as e:  # EncodingError, or a bad dtype name inside the encoding
            raise self.error(str(e), tok) from None

    def param(self, children):
        name, type_, *data = children
        array = _dense(data[0], type_, name, self.source) if data else None
        return name, Param(str(name[1:]), type_, array)


def _dense(value, type_: TensorType, at: Token, source: str) -> np.ndarray:
    """The NumPy array of a dense<...> literal, checked against the param's type."""
    dt = type_.dtype

    def fail(msg: str) -> ParseError:
        return ParseError(f"param {at}: {msg}", at.line, at.column, source)

    flat = list(_flatten(value))
    for x in flat:
        if not _fits(x, dt):
            raise fail(f"value {x!r} is not a valid {dt.name}")
    try:
        array = np.array(value, dtype=dt.numpy)
    except (ValueError, TypeError, OverflowError) as e:
        raise fail(f"dense literal is not a regular {dt.name} array ({e})") from None
    if array.size == 0 and type_.is_static and 0 in type_.shape:
        array = array.reshape(type_.shape)  # "[]" is how an array with no elements prints
    if array.shape != type_.shape:
        raise fail(f"dense literal has shape {list(array.shape)} but the type is {type_}")
    return array


def _flatten(value):
    if isinstance(value, list):
        for x in value:
            yield from _flatten(x)
    else:
        yield value


def _fits(x, dt: DType) -> bool:
    if dt.kind == "bool":
        return isinstance(x, bool)
    if dt.is_int:
        return isinstance(x, int) and not isinstance(x, bool) and dt.min <= x <= dt.max
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# ---- structure: functions, nodes, scopes ----------------------------------------------------


class _Scope:
    """The %values visible in one function (a fused region is a scope of its own)."""

    def __init__(self, module: Module, region: bool, source: str):
        self.module, self.region, self.source = module, region, source
        self.values: dict[str, Value] = {}

    def define(self, tok: Token, value: Value) -> None:
        if tok[1:] in self.values:
            raise ParseError(f"{tok} is defined twice", tok.line, tok.column, self.source)
        self.values[tok[1:]] = value

    def lookup(self, tok: Token):
        if tok.type == "SYMBOL":
            param = self.module.params.get(tok[1:])
            if param is None:
                raise ParseError(f"undefined param {tok}", tok.line, tok.column, self.source)
            if self.region:
                raise ParseError(f"a fused region may not use {tok}; pass it in as an operand",
                                 tok.line, tok.column, self.source)
            return param
        value = self.values.get(tok[1:])
        if value is None:
            where = " in this fused region" if self.region else ""
            raise ParseError(f"undefined value {tok}{where}", tok.line, tok.column, self.source)
        return value


def _name(tok: Token) -> str | None:
    """%7 is anonymous (the printer renumbers it); %x keeps its name."""
    return None if tok[1:].isdigit() else str(tok[1:])


class _Builder:
    """Builds the Module from the structural part of the tree, resolving names as it goes."""

    def __init__(self, source: str):
        self.source = source

    def error(self, msg: str, at) -> ParseError:
        return ParseError(msg, at.line, at.column, self.source)

    def module(self, tree: Tree) -> Module:
        name, *items = tree.children
        module = Module(name[1:])
        for item in items:
            if isinstance(item, tuple):
                tok, param = item
                if param.name in module.params:
                    raise self.error(f"param {tok} is defined twice", tok)
                module.params[param.name] = param
            else:
                func = self.function(item, module, region=False)
                if func.name in module.functions:
                    raise self.error(f"function @{func.name} is defined twice", item.children[0])
                module.functions[func.name] = func
        return module

    def function(self, tree: Tree, module: Module, region: bool) -> Function:
        name, *rest = tree.children
        scope = _Scope(module, region, self.source)
        func = Function(str(name[1:]))
        for child in rest:
            if child.data == "arg":
                tok, type_ = child.children
                func.args.append(Value(type_, str(tok[1:])))
                scope.define(tok, func.args[-1])
            elif child.data in ("single_result", "result_list"):
                declared = list(child.children)
            elif child.data == "node":
                func.nodes.append(self.node(child, scope))
            else:
                func.outputs = self.operands(child.children[0].children if child.children else [], scope)
                self.check_results(func, declared, child)
        return func

    def operands(self, toks, scope: _Scope) -> list:
        return [scope.lookup(tok) for tok in toks]

    def check_results(self, func: Function, declared: list[TensorType], ret: Tree) -> None:
        at = ret.meta
        if len(declared) != len(func.outputs):
            raise self.error(f"@{func.name} returns {len(func.outputs)} value(s) but its signature "
                             f"declares {len(declared)}", at)
        for i, (v, t) in enumerate(zip(func.outputs, declared)):
            if v.type != t:
                raise self.error(f"@{func.name}: returned value {i} has type {v.type} but the "
                                 f"signature declares {t}", at)

    def node(self, tree: Tree, scope: _Scope) -> Node:
        results, op, *rest = tree.children
        operands, attrs, types, region = [], None, [], None
        for child in rest:
            if isinstance(child, _Attrs):
                attrs = child
            elif child.data == "operands":
                operands = self.operands(child.children, scope)
            elif child.data == "types":
                types = list(child.children)
            else:
                region = self.function(child.children[0], scope.module, region=True)
        node = Node(str(op), operands, self.check_op(op, attrs, operands, region), [], region)
        names = results.children
        if len(names) != len(types):
            raise self.error(f"{len(names)} result name(s) but {len(types)} result type(s)", tree.meta)
        for i, (tok, t) in enumerate(zip(names, types)):
            node.results.append(Value(t, _name(tok), node, i))
            scope.define(tok, node.results[-1])
        return node

    def check_op(self, op: Token, attrs: _Attrs | None, operands: list, region: Function | None) -> dict:
        """Known op, operand count, region presence; returns the normalized attributes."""
        try:
            opdef = get_op(str(op))
            opdef.check_arity(len(operands))
        except KernforgeError as e:
            raise self.error(str(e), op) from None
        if opdef.has_region != (region is not None):
            raise self.error(f"op '{op}' {'needs' if opdef.has_region else 'takes no'} region", op)
        if region is not None and len(region.args) != len(operands):
            raise self.error(f"{len(operands)} operand(s) for a region with {len(region.args)} argument(s)", op)
        try:
            return opdef.check_attrs(attrs.values if attrs else {})
        except KernforgeError as e:
            raise self.error(str(e), attrs or op) from None
