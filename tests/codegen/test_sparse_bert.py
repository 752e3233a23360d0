"""A BERT-like model (random weights, 2 layers) pruned to N:M end to end: every linear layer becomes a
sparse kernel (2:4 for one or two tokens, 1:4 for a longer sequence; 2:4 from 8 tokens where the host has
the lookup GEMM: the cost rule's split), and the compiled model matches the interpreter on the same
pruned IR."""

import numpy as np
import pytest

import kernforge
from kernforge.ir import interpret
from kernforge.passes.target_traits import target_traits

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


class LastHidden(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids).last_hidden_state


@pytest.mark.parametrize("scheme, seq", [("2:4", 2), ("1:4", 16), ("2:4", 16)])
def test_pruned_bert_like_compiles_and_matches_the_interpreter(tmp_path, scheme, seq):
    torch.manual_seed(0)
    config = transformers.BertConfig(num_hidden_layers=2, hidden_size=256, num_attention_heads=4,
                                     intermediate_size=1024, vocab_size=1000)
    ids = torch.randint(0, 1000, (1, seq))
    path = tmp_path / "bert.onnx"
    torch.onnx.export(LastHidden(transformers.BertModel(config).eval()), (ids,), str(path), input_names=["input_ids"],
                      output_names=["h"], opset_version=17, dynamo=False)
    cm = kernforge.compile(str(path), opt_level=3, sparsity=scheme, prune=True)
    traits = kernforge.api.traits_of(None)
    sparse = seq <= 2 or scheme == "1:4" or traits.lookup_nm_gemm is not None
    assert cm.ir().count("nm_linear(") == (12 if sparse else 0)  # q, k, v, output, two FFN layers, per layer
    (got,) = cm.run([ids.numpy()]).values()
    with target_traits(traits):  # the IR compile made for this host
        prepared = kernforge.api.prepare(str(path), opt_level=3, sparsity=scheme, prune=True)
    (want,) = interpret(prepared, [ids.numpy()]).values()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # float32, sums in another order
