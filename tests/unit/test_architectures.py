"""Random weights at published shapes (model.architecture) and tokenizers padded to a real vocabulary.

Parameter counts are computed by hand from the config.json fields (and agree with the model cards: 0.49B, 1.54B,
7.61B); the models are built on the meta device, so no memory is spent.
"""

from __future__ import annotations

import pytest

from deepcritic.config import ModelConfig, TinyModelConfig, validate
from deepcritic.config.architectures import ARCHITECTURES
from deepcritic.errors import DeepcriticError
from deepcritic.modeling import build_tiny_model, build_tiny_tokenizer

TEXTS = ["Step 1: 3 + 4 = 7. The step states 7, which matches.\n\n\\boxed{1}\n\n**Answer**: \\boxed{-1}"] * 20

# name, parameters, non-embedding parameters, largest module, KV bytes per bf16 token
COUNTS = [
    # 0.5B: embedding 151936*896 = 136,134,656 (tied); per layer q 896*896+896, k and v 896*128+128 each,
    # o 896*896, MLP 3*896*4864, two norms 2*896 = 14,912,384; 24 layers + final norm 896
    ("qwen2.5-0.5b", 494_032_768, 357_898_112, 136_134_656, 2 * 24 * 2 * 64 * 2),
    # 1.5B: embedding 151936*1536 = 233,373,696 (tied); per layer 1536*1536*2 + 1536 + 2*(1536*256+256)
    # + 3*1536*8960 + 2*1536 = 46,797,824; 28 layers + final norm 1536
    ("qwen2.5-1.5b", 1_543_714_304, 1_310_340_608, 233_373_696, 2 * 28 * 2 * 128 * 2),
    # 7B: embedding and LM head 2*152064*3584 = 1,089,994,752 (untied); per layer 3584*3584*2 + 3584
    # + 2*(3584*512+512) + 3*3584*18944 + 2*3584 = 233,057,792; 28 layers + final norm 3584
    ("qwen2.5-7b", 7_615_616_512, 6_525_621_760, 544_997_376, 2 * 28 * 4 * 128 * 2),
]


@pytest.mark.parametrize("name, total, non_embedding, largest, kv_token", COUNTS)
def test_parameter_counts_match_the_published_models(name, total, non_embedding, largest, kv_token):
    shape = ARCHITECTURES[name]
    assert shape.parameters() == total
    assert shape.parameters() - shape.embedding_parameters() == non_embedding
    assert shape.largest_layer_parameters() == largest
    assert shape.kv_cache_bytes_per_token(2) == kv_token


@pytest.mark.parametrize("name, total, non_embedding, largest, kv_token", COUNTS)
def test_random_model_of_a_shape_has_those_parameters(name, total, non_embedding, largest, kv_token):
    import torch

    class Vocab:  # only len() is read: the padded tokenizer's size
        def __init__(self, n: int):
            self.n, self.eos_token_id, self.pad_token_id = n, 0, 0

        def __len__(self) -> int:
            return self.n

    shape = ARCHITECTURES[name]
    with torch.device("meta"):
        model = build_tiny_model(TinyModelConfig(), Vocab(shape.vocab_size), "bf16", shape)
    config = model.config
    assert sum(p.numel() for p in model.parameters()) == total
    assert (config.hidden_size, config.num_hidden_layers, config.num_key_value_heads) == (
        shape.hidden_size,
        shape.num_layers,
        shape.num_kv_heads,
    )
    assert config.rope_parameters["rope_theta"] == 1e6 and config.tie_word_embeddings == shape.tie_word_embeddings


def test_padded_tokenizer_has_the_vocabulary_and_encodes_as_before():
    plain = build_tiny_tokenizer(TEXTS, vocab_size=400)
    padded = build_tiny_tokenizer(TEXTS, vocab_size=400, pad_to=151936)
    assert len(padded) == 151936 and len(plain) < 1000
    assert padded(TEXTS[0])["input_ids"] == plain(TEXTS[0])["input_ids"]  # no merge produces a filler
    # every id decodes: a random model samples fillers, which read as words of about five characters
    assert padded.decode([len(plain), 151935]) == " w0 w" + str(151935 - len(plain))


def test_padding_below_the_trained_vocabulary_is_refused():
    with pytest.raises(DeepcriticError, match="pad_vocab_to = 10"):
        build_tiny_tokenizer(TEXTS, vocab_size=400, pad_to=10)


def test_unknown_architecture_is_a_config_problem():
    problems = validate(ModelConfig(from_scratch=True, architecture="qwen2.5-3b"))
    assert [(p.key, p.value) for p in problems] == [("architecture", "qwen2.5-3b")]
    assert "qwen2.5-0.5b" in problems[0].fix
