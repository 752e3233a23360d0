"""Benchmark and test models: the light ONNX models with random weights, and the torch-defined suite
models (BERT, GPT-2, MobileNetV2, GEMM, GEMV) exported once to cached ONNX files with the same weights."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _random_like(shape: tuple, value: float, rng) -> np.ndarray:
    """He-style scale for weight tensors keeps deep nets finite; 1-D params jitter around their value."""
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
    if value > 0:  # scales and variances must stay positive
        return value * (1.0 + 0.2 * rng.random(shape))
    return 0.05 * rng.standard_normal(shape)


def randomize_light_weights(model, seed: int = 0):
    """The light models build every weight with ConstantOfShape(one value): replace each with seeded
    random data of the same shape (BN variances stay positive), so outputs depend on the weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    shapes = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("__SHAPE")}
    rng = np.random.default_rng(seed)
    keep, new_inits = [], []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in shapes:
            value = numpy_helper.to_array(node.attribute[0].t).reshape(())
            data = _random_like(tuple(int(d) for d in shapes[node.input[0]]), float(value), rng)
            new_inits.append(numpy_helper.from_array(data.astype(np.float32), node.output[0]))
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {i for n in keep for i in n.input}
    inits = [i for i in model.graph.initializer if i.name in used or not i.name.endswith("__SHAPE")]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits + new_inits)
    consts = {i.name for i in model.graph.initializer} | set(shapes)
    real_inputs = [i for i in model.graph.input if i.name not in consts]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    model.ir_version = max(model.ir_version, 4)  # from IR 4 on, initializers need not be graph inputs
    return model


# --- the benchmark suite's models -----------------------------------------------------------

CACHE_DIR = os.path.join(tempfile.gettempdir(), "kernforge-bench")


@dataclass
class BenchModel:
    """One suite model: its ONNX file, inputs in graph order, and its torch twin when it has one."""

    name: str
    onnx_path: str
    inputs: list[np.ndarray]
    torch_factory: Callable[[], Any] | None = None  # -> nn.Module in eval mode, same weights as the ONNX file
    numpy_fn: Callable[..., np.ndarray] | None = None  # the same math in NumPy (GEMM, GEMV)
    flops: int = 0
    rtol: float = 1e-3
    atol: float = 1e-4
    _torch: Any = field(default=None, repr=False)

    def torch_module(self):
        if self.torch_factory is None:
            raise ValueError(f"{self.name} has no torch definition")
        if self._torch is None:
            self._torch = self.torch_factory()
        return self._torch


def _onnx_inputs(path: str, seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal inputs of the shapes and dtypes the ONNX graph declares."""
    import onnx
    from onnx import helper

    rng = np.random.default_rng(seed)
    out = []
    for i in onnx.load(path, load_external_data=False).graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value or 1 for d in t.shape.dim]
        out.append(rng.standard_normal(shape).astype(helper.tensor_dtype_to_np_dtype(t.elem_type)))
    return out


def light_model(name: str) -> BenchModel:
    """A light model of the onnx wheel with seeded random weights, written once to the cache."""
    import onnx

    from kernforge.demo import light_model_dir

    path = os.path.join(CACHE_DIR, f"{name}-random-onnx{onnx.__version__}.onnx")
    if not os.path.exists(path):
        model = randomize_light_weights(onnx.load(os.path.join(light_model_dir(), f"light_{name}.onnx")))
        _atomic_write(path, model.SerializeToString())
    return BenchModel(name, path, _onnx_inputs(path))


def _atomic_write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _versions() -> str:
    import torch

    try:
        import transformers

        return f"torch{torch.__version__}-tf{transformers.__version__}"
    except ImportError:
        return f"torch{torch.__version__}"


def torch_model(name: str, factory: Callable[[], Any], inputs: list[np.ndarray], names: list[str],
                **kw) -> BenchModel:
    """A torch-defined model, exported to ONNX once (cached per spec and versions) with the same weights."""
    import torch

    path = os.path.join(CACHE_DIR, f"{name}-{_versions()}.onnx")
    if not os.path.exists(path):
        module = factory()
        os.makedirs(CACHE_DIR, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings of the transformers models
            torch.onnx.export(module, tuple(torch.from_numpy(a) for a in inputs), tmp, input_names=names,
                              output_names=["output"], opset_version=17, dynamo=False)
        os.replace(tmp, path)
    return BenchModel(name, path, inputs, torch_factory=factory, **kw)


def _matmul_module(w: np.ndarray):
    """x @ W with W fixed, as a torch module (the GEMM and GEMV models)."""
    import torch

    class MatMulW(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.from_numpy(w), requires_grad=False)

        def forward(self, x):
            return x @ self.w

    return MatMulW().eval()


def matmul_model(name: str, m: int, k: int, n: int) -> BenchModel:
    """(m x k) @ (k x n) with seeded weights; NumPy's np.matmul is its reference speed."""
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    return torch_model(name, lambda: _matmul_module(w), [x], ["x"], numpy_fn=lambda a: np.matmul(a, w),
                       flops=2 * m * k * n)


def mobilenet_v2() -> BenchModel:
    """The MobileNetV2-style CNN of the torch frontend tests, 1000 classes, batch 1, 224x224."""

    def factory():
        import torch

        from kernforge.tests.frontends.torch_models import MobileNetV2, randomize_batchnorm

        torch.manual_seed(0)
        return randomize_batchnorm(MobileNetV2(num_classes=1000)).eval()

    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    return torch_model("mobilenetv2", factory, [x], ["x"])


def _hf_head(model, attr: str):
    """input ids and attention mask in, one output (last_hidden_state or logits) out."""
    import torch

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask), attr)

    return Head().eval()


def _token_inputs(vocab: int, seq: int) -> list[np.ndarray]:
    ids = np.random.default_rng(0).integers(0, vocab, (1, seq), dtype=np.int64)
    return [ids, np.ones((1, seq), dtype=np.int64)]


def bert(layers: int = 12, seq: int = 128) -> BenchModel:
    """BERT-base (hidden 768, 12 heads, FFN 3072) with random weights: last hidden state, batch 1."""
    import transformers

    def factory():
        import torch

        torch.manual_seed(0)
        config = transformers.BertConfig(num_hidden_layers=layers)
        return _hf_head(transformers.BertModel(config), "last_hidden_state")

    name = f"bert_base_seq{seq}" if layers == 12 else f"bert_base_L{layers}_seq{seq}"
    return torch_model(name, factory, _token_inputs(transformers.BertConfig().vocab_size, seq),
                       ["input_ids", "attention_mask"])


def gpt2(layers: int = 12, seq: int = 64) -> BenchModel:
    """GPT-2 small (n_embd 768, 12 heads, tied LM head) with random weights: logits, batch 1."""
    import transformers

    def factory():
        import torch

        torch.manual_seed(0)
        config = transformers.GPT2Config(n_layer=layers, use_cache=False)
        return _hf_head(transformers.GPT2LMHeadModel(config), "logits")

    name = f"gpt2_small_seq{seq}" if layers == 12 else f"gpt2_small_L{layers}_seq{seq}"
    return torch_model(name, factory, _token_inputs(transformers.GPT2Config().vocab_size, seq),
                       ["input_ids", "attention_mask"])


LIGHT = ("resnet50", "squeezenet", "inception_v1", "densenet121", "shufflenet", "vgg19", "zfnet512",
         "bvlc_alexnet", "inception_v2")

SUITE: dict[str, Callable[[], BenchModel]] = {
    **{n: (lambda n=n: light_model(n)) for n in LIGHT},
    "bert": bert,
    "gpt2": gpt2,
    "mobilenetv2": mobilenet_v2,
    "gemm_1024": lambda: matmul_model("gemm_1024", 1024, 1024, 1024),
    "gemv_4096": lambda: matmul_model("gemv_4096", 1, 4096, 4096),
}
