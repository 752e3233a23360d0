"""BERT-base-like and GPT-2-small-like models (real hidden sizes, 2 layers, random weights),
exported with torch.onnx.export, imported, and compared with onnxruntime."""

import numpy as np
import onnx
import pytest

from kernforge.frontends import from_onnx
from kernforge.ir import interpret

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

BATCH, SEQ = 2, 16


class LastHidden(torch.nn.Module):
    """input ids and attention mask in, last hidden state out (an explicit mask keeps the export static)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export(model, vocab: int, path, dynamic: bool) -> tuple[onnx.ModelProto, dict]:
    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (BATCH, SEQ))
    mask = torch.ones(BATCH, SEQ, dtype=torch.long)
    mask[1, SEQ - 4:] = 0  # padding in the second sequence
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}} if dynamic else None
    torch.onnx.export(LastHidden(model.eval()), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return onnx.load(str(path)), {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}


def onnxruntime_outputs(path, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def test_bert_base_like_matches_onnxruntime(tmp_path):
    torch.manual_seed(0)
    config = transformers.BertConfig(num_hidden_layers=2)  # bert-base: hidden 768, 12 heads, FFN 3072
    model, feeds = export(transformers.BertModel(config), config.vocab_size, tmp_path / "bert.onnx", dynamic=False)
    module = from_onnx(tmp_path / "bert.onnx")
    ours = interpret(module, feeds)["last_hidden_state"]
    assert ours.shape == (BATCH, SEQ, 768)
    np.testing.assert_allclose(ours, onnxruntime_outputs(tmp_path / "bert.onnx", feeds), rtol=1e-3, atol=1e-4)


def test_gpt2_small_like_with_dynamic_axes_matches_onnxruntime(tmp_path):
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2)  # gpt2-small: n_embd 768, 12 heads
    model, feeds = export(transformers.GPT2Model(config), config.vocab_size, tmp_path / "gpt2.onnx", dynamic=True)
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == ["batch", "seq"]
    module = from_onnx(model, input_shapes={"input_ids": [BATCH, SEQ], "attention_mask": [BATCH, SEQ]})
    ours = interpret(module, feeds)["last_hidden_state"]
    assert ours.shape == (BATCH, SEQ, 768)
    np.testing.assert_allclose(ours, onnxruntime_outputs(tmp_path / "gpt2.onnx", feeds), rtol=1e-3, atol=1e-4)
