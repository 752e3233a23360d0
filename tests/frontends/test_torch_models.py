"""Whole models through from_torch + the interpreter, against torch eager (random weights)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.export import Dim  # noqa: E402

from .torch_models import (  # noqa: E402
    MobileNetV2,
    ResNet18,
    SmallConvNet,
    ViTBlock,
    check_against_eager,
    randomize_batchnorm,
)


def _image(n: int, size: int, seed: int = 0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_resnet18():
    torch.manual_seed(0)
    model = randomize_batchnorm(ResNet18())
    # 20 conv layers accumulate float32 rounding in a different order than torch's kernels.
    ir = check_against_eager(model, (_image(1, 64),))
    ops = {n.op for n in ir.main.nodes}
    assert {"conv2d", "batch_norm", "max_pool", "dense"} <= ops


def test_mobilenet_v2():
    torch.manual_seed(1)
    model = randomize_batchnorm(MobileNetV2())
    # 52 conv layers (depthwise ones included): rounding grows with depth, as for ResNet.
    ir = check_against_eager(model, (_image(1, 64),))
    assert any(n.op == "conv2d" and n.attrs["group"] > 1 for n in ir.main.nodes)
    assert any(n.op == "relu6" for n in ir.main.nodes)


def test_transformer_encoder_layer():
    torch.manual_seed(2)
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    check_against_eager(layer, (torch.randn(2, 10, 64),))


def test_vit_patch_embedding_and_block():
    torch.manual_seed(3)
    check_against_eager(ViTBlock(), (_image(2, 32),))


def test_gpt2_small():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(4)
    # GPT-2 small's real widths (768 hidden, 12 heads) with 2 of its 12 layers, for test time.
    config = transformers.GPT2Config(n_layer=2, use_cache=False, attn_implementation="eager")
    model = transformers.GPT2Model(config)
    ids = torch.randint(0, config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(0))
    ir = check_against_eager(model, (ids,))
    assert ir.main.input_names == ["input_ids"]
    assert ir.main.output_names == ["last_hidden_state"]


def test_bert_base():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(5)
    # BERT-base widths (768 hidden, 12 heads, 3072 intermediate) with 2 of its 12 layers.
    config = transformers.BertConfig(num_hidden_layers=2, attn_implementation="eager")
    model = transformers.BertModel(config)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, config.vocab_size, (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.int64)
    mask[1, 6:] = 0  # padding in the second sequence exercises the attention mask
    ir = check_against_eager(model, (ids, mask))
    assert ir.main.input_names == ["input_ids", "attention_mask"]
    assert ir.main.output_names == ["last_hidden_state", "pooler_output"]


def test_dynamic_batch_runs_at_two_batch_sizes():
    torch.manual_seed(6)
    model = randomize_batchnorm(SmallConvNet())
    batch = Dim("batch", min=1, max=64)
    ir = check_against_eager(model, (_image(3, 8),), dynamic_shapes={"x": {0: batch}},
                             runs=[(_image(7, 8, seed=1),), (_image(1, 8, seed=2),)])
    assert ir.main.args[0].type.shape == ("batch", 3, 8, 8)
    assert ir.main.outputs[0].type.shape == ("batch", 5)
    assert "?batch x3x8x8xf32" in str(ir)
