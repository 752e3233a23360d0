"""The execution plan: which kernel runs when, on which slots. Pure data, JSON round-trippable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def buffer_slot(node: int, result: int) -> str:
    """The slot of result `result` of the function's node `node` (its index in the final IR)."""
    return f"buf:{node}.{result}"


def slot_node(slot: str) -> int | None:
    """The final-IR node index a `buf:` slot belongs to (buffer_slot), else None."""
    kind, _, rest = slot.partition(":")
    return int(rest.split(".")[0]) if kind == "buf" else None


@dataclass
class Step:
    """One kernel call: the compiled function's name and the slots it reads and writes."""

    kernel: str
    inputs: list[str]
    outputs: list[str]


@dataclass
class TensorSig:
    """A named tensor in the model's signature (static shape, IR dtype name)."""

    name: str
    shape: list[int]
    dtype: str
    layout: str | None = None  # a blocked layout (ir/layouts.py): stored physically, given and taken logically


@dataclass
class Plan:
    """Slots are `in:<name>`, `param:<name>` and `buf:<id>`; buffers map to (shape, dtype)."""

    steps: list[Step] = field(default_factory=list)
    buffers: dict[str, tuple[list[int], str]] = field(default_factory=dict)
    inputs: list[TensorSig] = field(default_factory=list)
    outputs: list[TensorSig] = field(default_factory=list)
    output_slots: list[str] = field(default_factory=list)
    kernels: dict[str, dict] = field(default_factory=dict)  # name -> {"rule", "anchor", "ops"}
    # The memory plan (codegen/memory.py): storage id -> bytes, and buffer slot -> the storage it lives in.
    # A buffer missing from buffer_storage gets its own allocation (plans saved before memory planning).
    storage: dict[str, int] = field(default_factory=dict)
    buffer_storage: dict[str, str] = field(default_factory=dict)
    buffer_offset: dict[str, int] = field(default_factory=dict)  # bytes into the storage (0 if absent)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Plan:
        return cls(
            steps=[Step(**s) for s in d["steps"]],
            buffers={k: (list(v[0]), v[1]) for k, v in d["buffers"].items()},
            inputs=[TensorSig(**t) for t in d["inputs"]],
            outputs=[TensorSig(**t) for t in d["outputs"]],
            output_slots=list(d["output_slots"]),
            kernels=dict(d["kernels"]),
            storage={k: int(v) for k, v in d.get("storage", {}).items()},
            buffer_storage=dict(d.get("buffer_storage", {})),
            buffer_offset={k: int(v) for k, v in d.get("buffer_offset", {}).items()},
        )
