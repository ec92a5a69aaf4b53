"""Which generator an evaluation during training uses, with stand-ins for a trainer and TRL's vLLM generation (the
server and sleep mode need GPUs; the CPU integration tests cover the colocated engine and generate for real)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import vllm.platforms  # noqa: F401 (at collection: importing vLLM sets environment variables, which tests may not)

from deepcritic.config import SamplingConfig
from deepcritic.eval.trainer_critics import ServerCritic, Share, open_critic


class FakeTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt, continue_final_message):
        return "|".join(m["content"] for m in messages) + ("|>" if add_generation_prompt else "")

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


class FakeLLM:
    def __init__(self):
        self.calls: list[tuple] = []
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=4096))

    def get_tokenizer(self):
        return FakeTokenizer()

    def wake_up(self, tags):
        self.calls.append(("wake_up", tuple(tags)))

    def sleep(self, level):
        self.calls.append(("sleep", level))


class FakeGeneration:
    def __init__(self, mode, tp=1, sleep=False, client=None):
        self.mode, self.tensor_parallel_size, self.enable_sleep_mode = mode, tp, sleep
        self.llm, self.vllm_client, self.syncs = FakeLLM(), client, 0
        self._llm_weights_sleeping = sleep

    def sync_weights(self):
        self.syncs += 1
        self._llm_weights_sleeping = False


def _trainer(generation, index=0, count=1, step=4, last=None):
    acc = SimpleNamespace(process_index=index, num_processes=count, is_main_process=index == 0)
    return SimpleNamespace(
        vllm_generation=generation,
        accelerator=acc,
        state=SimpleNamespace(global_step=step),
        _last_loaded_step=last,
        processing_class=FakeTokenizer(),
    )


SHARES = [
    # (processes, tensor parallel, this process) -> its share: one shard per tensor-parallel group
    (1, 1, 0, Share(0, 1)),
    (4, 1, 3, Share(3, 4)),
    (4, 2, 3, Share(1, 2)),
    (8, 4, 5, Share(1, 2)),
]


@pytest.mark.parametrize("count, tp, index, share", SHARES)
def test_colocated_engine_shares_by_tensor_parallel_group(count, tp, index, share):
    generation = FakeGeneration("colocate", tp=tp)
    with open_critic(_trainer(generation, index, count), "auto", 4) as (critic, got):
        assert got == share and critic.name == "vllm:training-engine" and critic.llm is generation.llm


PUSHES = [
    # the engine was last loaded at this step: no second push
    (4, 4, False, 0),
    # an older step (or never): push, and record the step as TRL does
    (4, 3, False, 1),
    (0, -1, False, 1),
    # sleep mode discarded the weights: push again even at the same step
    (4, 4, True, 1),
]


@pytest.mark.parametrize("step, last, sleeping, pushes", PUSHES)
def test_weights_are_pushed_only_when_the_engine_lacks_them(step, last, sleeping, pushes):
    generation = FakeGeneration("colocate", sleep=sleeping)
    generation.enable_sleep_mode = False  # only the weights flag matters here
    trainer = _trainer(generation, step=step, last=last)
    with open_critic(trainer, "auto", 4):
        pass
    assert generation.syncs == pushes and trainer._last_loaded_step == step


def test_sleep_mode_wakes_the_kv_cache_and_sleeps_again():
    generation = FakeGeneration("colocate", sleep=True)
    with open_critic(_trainer(generation), "auto", 4):
        assert generation.llm.calls == [("wake_up", ("kv_cache",))]
    assert generation.llm.calls[-1] == ("sleep", 2) and generation._llm_weights_sleeping is True


def test_server_mode_generates_on_the_main_process_only():
    client = SimpleNamespace(generate=None)
    for index, takes_part in ((0, True), (1, False)):
        generation = FakeGeneration("server", client=client)
        with open_critic(_trainer(generation, index, 2), "auto", 4) as (critic, share):
            assert isinstance(critic, ServerCritic) and share == Share(0, 1, takes_part)
        assert generation.syncs == 1  # every process takes part in the push


def test_server_critic_groups_decodes_and_infers_the_finish_reason():
    sent = {}

    def generate(**kwargs):
        sent.update(kwargs)
        return {"completion_ids": [[104, 105], [120] * 5, [121], [122, 122]]}

    critic = ServerCritic(SimpleNamespace(vllm_client=SimpleNamespace(generate=generate)), FakeTokenizer())
    sampling = SamplingConfig(n=2, temperature=0.5, max_new_tokens=5, stop=["[END]"])
    out = critic.generate([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]], sampling)
    assert [[c.text for c in o] for o in out] == [["hi", "xxxxx"], ["y", "zz"]]
    # five tokens of five: cut at the limit; fewer: the model stopped
    assert [[c.finish_reason for c in o] for o in out] == [["stop", "length"], ["stop", "stop"]]
    assert sent["prompts"] == [[ord(c) for c in "a|>"], [ord(c) for c in "b|>"]]
    assert (sent["n"], sent["max_tokens"], sent["generation_kwargs"]) == (2, 5, {"stop": ["[END]"]})


def test_without_an_engine_it_generates_on_the_training_model(monkeypatch):
    """No vLLM generation on the trainer (SFT, or GRPO with rollout=hf), or backend=hf: transformers generate."""
    import contextlib

    import deepcritic.eval.trainer_critics as tc

    @contextlib.contextmanager
    def training_model(trainer, batch_size):
        yield SimpleNamespace(name="hf:training-model", batch_size=batch_size)

    monkeypatch.setattr(tc, "_training_model", training_model)
    for generation, backend in ((None, "auto"), (FakeGeneration("colocate"), "hf")):
        trainer = _trainer(generation, index=1, count=2)
        with open_critic(trainer, backend, 7) as (critic, share):
            assert critic.name == "hf:training-model" and critic.batch_size == 7 and share == Share(1, 2)
        assert generation is None or generation.syncs == 0
