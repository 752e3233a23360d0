"""Every error kernforge raises on purpose; the CLI prints these as one line."""

from __future__ import annotations


class KernforgeError(Exception):
    """Base of all kernforge errors: a user-facing problem with a model, IR or option."""


class ParseError(KernforgeError):
    """IR text that does not parse; carries the 1-based line and column."""

    def __init__(self, message: str, line: int, column: int, source: str = "<input>"):
        self.line, self.column, self.source = line, column, source
        super().__init__(f"{source}:{line}:{column}: {message}")


class EncodingError(KernforgeError):
    """A tensor encoding (#quant, #nm, #bsr, ...) with invalid parameters."""


class TypeInferenceError(KernforgeError):
    """Operand types or attributes that an op does not accept."""


class UnknownOpError(KernforgeError):
    """An op name that is not in the registry."""


class UnsupportedOpError(KernforgeError):
    """Ops a frontend or backend cannot handle; lists every offender at once."""


class InvalidAttributeError(KernforgeError):
    """An op attribute that is missing, unknown or of the wrong kind."""


class VerificationError(KernforgeError):
    """IR that breaks an invariant: SSA dominance, types, attributes."""


class UnknownPassError(KernforgeError):
    """A pass or pipeline name that is not registered."""


class InputError(KernforgeError):
    """Inputs given to a model or interpreter that do not match its signature."""


class InterpreterError(KernforgeError):
    """A node whose reference implementation failed while interpreting."""


class ModelError(KernforgeError):
    """A model file that is invalid or cannot be loaded (e.g. it fails onnx.checker)."""


class ExportError(KernforgeError):
    """A model that a frontend's tracer (torch.export) cannot capture; says why."""


class ConstantRequiredError(UnsupportedOpError):
    """A model input that kernforge needs as a constant (it becomes an IR attribute) is dynamic."""

    def __init__(self, message: str, value_name: str = ""):
        self.value_name = value_name
        super().__init__(message)
