"""Structured-config schema (dataclasses): every default lives here, once; validation reports all errors at once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from deepcritic.errors import ConfigError, Problem

SOURCES = ("synthetic", "processbench", "mr_gsm8k", "prm800k", "contract", "generic", "hub")


@dataclass
class SyntheticConfig:
    """The built-in arithmetic-critique task: seeded chains of arithmetic steps, some with one injected error."""

    num_records: int = 512
    seed: int = 0
    min_steps: int = 3
    max_steps: int = 5
    max_operand: int = 20  # operands drawn from 1..max_operand (difficulty)
    max_value: Optional[int] = None  # keep every right running value <= max_value (null: no bound)
    ops: list[str] = field(default_factory=lambda: ["+", "-", "*"])
    error_rate: float = 0.5  # fraction of records with one wrong step
    max_error_delta: int = 3  # a wrong result differs from the right one by 1..max_error_delta
    critique: str = "full"  # gold critique style: full | terse | count | count_compare (see deepcritic/data/synthetic.py)


@dataclass
class DataConfig:
    """Where records come from and what to do with bad ones.

    ``source`` picks the converter: ``synthetic`` (built in, no download), ``processbench`` /
    ``mr_gsm8k`` (local JSON or the Hub), ``prm800k`` (raw label files), ``contract`` (data-contract
    JSONL written by ``deepcritic convert``), ``generic`` (json/jsonl/parquet with a field mapping) and
    ``hub`` (any Hub dataset with a field mapping).
    """

    source: str = "synthetic"
    path: Optional[str] = None  # local file; when null, the Hub dataset below is used
    hub_name: Optional[str] = None  # e.g. Qwen/ProcessBench
    subset: Optional[str] = None  # Hub config name, or the ProcessBench split (gsm8k, math, ...)
    split: str = "train"
    revision: Optional[str] = None
    # generic/hub: record field -> source field (dotted paths allowed), e.g. {problem: question}
    fields: dict[str, str] = field(default_factory=dict)
    name: Optional[str] = None  # source name written into records; defaults per source
    on_error: str = "raise"  # raise | skip
    rejects_path: Optional[str] = None  # skipped records go here (default: <run dir>/rejects.jsonl)
    limit: Optional[int] = None  # keep the first N records (after loading)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass
class TinyModelConfig:
    """A tiny random Qwen2 and a byte-level BPE tokenizer built on the spot (``model.from_scratch=true``).

    For CPU demos and tests: nothing is downloaded. The tokenizer is trained on the run's own training
    text and has a Qwen-style chat template (``<|im_start|>`` / ``<|im_end|>``). vLLM's CPU attention
    needs ``hidden_size / num_heads >= 64``.
    """

    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 2
    num_kv_heads: int = 1
    intermediate_size: int = 256
    vocab_size: int = 1024  # target vocabulary of the tokenizer (bytes + special tokens + BPE merges)
    split_digits: bool = False  # true: every digit is its own token (no number tokens; arithmetic tasks)
    max_position_embeddings: int = 4096
    seed: int = 0  # weight initialisation


@dataclass
class ModelConfig:
    """The model to train or evaluate: a Hub name or a local path in Hugging Face format."""

    name_or_path: str = "Qwen/Qwen2.5-7B-Instruct"
    revision: Optional[str] = None
    tokenizer: Optional[str] = None  # defaults to name_or_path
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp16 | fp32
    attn_implementation: Optional[str] = None  # e.g. flash_attention_2, sdpa
    trust_remote_code: bool = False  # off unless you trust the model repository's code
    template: Optional[str] = None  # critic prompt template file; null = deepcritic/critique/templates/critic.txt
    from_scratch: bool = False  # true: build the tiny model below instead of loading name_or_path
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)


@dataclass
class LoggerConfig:
    """Experiment tracking. wandb ``mode``: online | offline | disabled; an unreachable server never fails a run."""

    backend: str = "wandb"  # wandb | none
    mode: str = "offline"
    project: str = "deepcritic"
    entity: Optional[str] = None
    name: Optional[str] = None  # default: <recipe>-<run dir name>
    group: Optional[str] = None
    tags: list[str] = field(default_factory=list)


@dataclass
class DeepSpeedConfig:
    """DeepSpeed ZeRO through accelerate. ``stage`` 0 means plain DDP / single process."""

    stage: int = 0  # 0 | 2 | 3
    offload_optimizer: bool = False
    offload_params: bool = False  # ZeRO-3 only
    config_file: Optional[str] = None  # a full DeepSpeed JSON; overrides the fields above


@dataclass
class ChatDataConfig:
    """Training examples as chats for ``sft`` / ``cft``: a user prompt and the assistant target.

    ``source``:
      - ``records``: step-labeled records from the recipe's ``data`` section; prompt = the critic prompt
        (critique protocol), target = the record's gold critique (``meta.critique``, e.g. the synthetic task).
      - ``messages``: rows holding a chat list (``messages_field``) of ``{role, content}``; the last
        assistant turn is the target and everything before it the prompt.
      - ``cft``: Critique Fine-Tuning rows (``instruction``, ``input``, ``output``, as in
        TIGER-Lab/WebInstruct-CFT); prompt = instruction + blank line + input, target = output.
    ``messages`` and ``cft`` read a local json/jsonl/parquet file (``path``) or a Hub dataset (``hub_name``).
    """

    source: str = "records"  # records | messages | cft
    path: Optional[str] = None
    hub_name: Optional[str] = None
    subset: Optional[str] = None  # Hub config name, e.g. WebInstruct-CFT-50K
    split: str = "train"
    revision: Optional[str] = None
    messages_field: str = "messages"
    instruction_field: str = "instruction"
    input_field: str = "input"
    output_field: str = "output"
    limit: Optional[int] = None  # keep the first N examples


@dataclass
class LoraConfig:
    """Optional LoRA adapters (peft). Off by default: full fine-tuning."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


@dataclass
class TrainConfig:
    """Supervised training (TRL ``SFTTrainer``) for ``sft`` and ``cft``.

    The global batch is fixed by the experiment: gradient accumulation is derived as
    ``global_batch_size / (per_device_batch_size * world size)`` so that it holds on any GPU count.
    """

    learning_rate: float = 1e-5
    epochs: float = 3.0
    max_steps: int = -1  # > 0: stop after this many optimizer steps (overrides epochs)
    scheduler: str = "cosine"  # any transformers SchedulerType: cosine, linear, constant_with_warmup, ...
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    global_batch_size: Optional[int] = 64  # sequences per optimizer step over all processes; null: use
    per_device_batch_size: int = 1  #       gradient_accumulation_steps as given
    gradient_accumulation_steps: int = 1  # only used when global_batch_size is null
    max_length: int = 16384  # tokens per sequence (prompt + target); longer ones are counted and reported
    drop_overlong: bool = False  # true: drop longer examples; false: keep them, truncated (with a warning)
    packing: bool = False  # pack several examples into one max_length sequence (TRL best-fit decreasing)
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    save_steps: int = 500  # checkpoint every N optimizer steps
    save_total_limit: Optional[int] = 3  # keep the newest N checkpoints
    resume: str = "auto"  # auto (newest checkpoint in output_dir, if any) | never | <checkpoint dir>
    output_dir: Optional[str] = None  # default: the run directory
    dataset_num_proc: Optional[int] = None  # processes for tokenization
    lora: LoraConfig = field(default_factory=LoraConfig)


@dataclass
class SFTRecipeConfig:
    """``deepcritic sft``: train a critic on (critic prompt -> deliberate critique) chats."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)  # records, used when chat.source=records
    chat: ChatDataConfig = field(default_factory=ChatDataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    deepspeed: DeepSpeedConfig = field(default_factory=DeepSpeedConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 42


@dataclass
class CFTRecipeConfig:
    """``deepcritic cft``: Critique Fine-Tuning on (question + candidate solution -> critique) chats."""

    model: ModelConfig = field(default_factory=ModelConfig)
    chat: ChatDataConfig = field(default_factory=lambda: ChatDataConfig(
        source="cft", hub_name="TIGER-Lab/WebInstruct-CFT", subset="WebInstruct-CFT-4K"))
    train: TrainConfig = field(default_factory=TrainConfig)
    deepspeed: DeepSpeedConfig = field(default_factory=DeepSpeedConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 42


@dataclass
class ConvertConfig:
    """``deepcritic convert``: read any supported source and write data-contract JSONL."""

    data: DataConfig = field(default_factory=DataConfig)
    output: Optional[str] = None  # default: <run dir>/records.jsonl
    seed: int = 0


@dataclass
class SamplingConfig:
    """How a generation backend samples: ``n`` completions per prompt (every backend reads these)."""

    n: int = 1
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    max_new_tokens: int = 4096
    seed: Optional[int] = 0  # per-request seed (vLLM on GPU, OpenAI-compatible servers); HF: seeded per
    #                          batch; vLLM on CPU: the engine seed (rollout.vllm.seed) instead


@dataclass
class VLLMEngineConfig:
    """vLLM's offline engine (``vllm.LLM``) arguments."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9  # on CPU: fraction of RAM, unless kv_cache_memory_gib is set
    max_model_len: Optional[int] = None  # null = the model's own limit
    enable_prefix_caching: bool = True
    enforce_eager: bool = False  # true: no CUDA graphs / compilation (faster start, slower decode)
    kv_cache_memory_gib: Optional[float] = None  # fixed KV-cache size instead of gpu_memory_utilization
    seed: int = 0  # engine seed
    in_process: bool = True  # run the engine core in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0)


@dataclass
class OpenAIServerConfig:
    """An OpenAI-compatible chat-completions server (``vllm serve``, an API model).

    The API key is never written in a config: ``api_key_env`` names the environment variable that holds
    it (null: no key, as for a local ``vllm serve``).
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    model: Optional[str] = None  # served model name; null = model.name_or_path
    api_key_env: Optional[str] = None  # e.g. OPENAI_API_KEY
    concurrency: int = 8  # requests in flight
    timeout_s: float = 600.0  # per request
    max_retries: int = 5  # retries of a failed request, waiting backoff_s * 2^attempt (capped)
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    requests_per_second: Optional[float] = None  # rate limit over all threads; null = none
    n_per_request: bool = True  # false: send n requests of n=1 (servers that reject n > 1)
    extra_body: dict[str, Any] = field(default_factory=dict)  # extra request fields, e.g. {top_k: 20}


@dataclass
class HFGenerateConfig:
    """transformers ``generate`` (the fallback backend): batched, left padding."""

    batch_size: int = 8  # prompts per generate() call


@dataclass
class VLLMServerConfig:
    """The ``trl vllm-serve`` server that ``deepcritic grpo`` samples from with ``rollout.vllm_mode=server``.

    Start it on GPUs of its own with ``launch/vllm_server.sh``; the trainer waits up to ``timeout_s`` for
    it, sends prompts over HTTP and pushes its weights after every step over NCCL on ``group_port``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    base_url: Optional[str] = None  # e.g. http://gpu-node-7:8000; overrides host and port
    timeout_s: float = 240.0  # how long the trainer waits for the server to come up
    group_port: int = 51216  # NCCL weight-update group


@dataclass
class RolloutConfig:
    """Which backend generates completions, and its knobs (``deepcritic/generation.py``).

    ``backend``: ``vllm`` (offline engine), ``openai`` (an OpenAI-compatible server) or ``hf``
    (transformers generate). Only the section of the chosen backend is read.

    ``deepcritic grpo`` reads ``backend`` as: ``vllm`` = TRL's vLLM rollouts in ``vllm_mode`` (``colocate``:
    an engine inside every training process, sharing its GPU; ``server``: a ``trl vllm-serve`` server on
    GPUs of its own, see ``server``), ``hf`` = TRL's plain ``generate`` (no vLLM). ``openai`` cannot
    train (the weights could not be pushed). The ``vllm_mode`` / ``sleep_mode`` / ``server`` fields are
    read by ``grpo`` only; eval and filter always run the engine in their own process.
    """

    backend: str = "vllm"  # vllm | openai | hf
    vllm: VLLMEngineConfig = field(default_factory=VLLMEngineConfig)
    openai: OpenAIServerConfig = field(default_factory=OpenAIServerConfig)
    hf: HFGenerateConfig = field(default_factory=HFGenerateConfig)
    vllm_mode: str = "colocate"  # grpo only: colocate | server
    sleep_mode: bool = False  # grpo colocate on GPU: free engine weights + KV cache while the trainer steps
    server: VLLMServerConfig = field(default_factory=VLLMServerConfig)  # grpo with vllm_mode=server


@dataclass
class EvalConfig:
    """``deepcritic eval``: run a critic on several benchmarks; F1, parse rate, length, Maj@k."""

    model: ModelConfig = field(default_factory=ModelConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    # name -> a DataConfig mapping (typed as Any so that `+benchmarks.mine={source: contract, path: x}` can add
    # one on the command line; each entry is checked as a DataConfig by validate() and benchmark_configs())
    benchmarks: dict[str, Any] = field(default_factory=dict)
    limit: Optional[int] = None  # at most N records per benchmark (on top of each one's own limit)
    maj_k: Optional[list[int]] = None  # Maj@k points (each <= sampling.n); null = 1, 2, 4, ..., n
    batch_size: int = 64  # records per generation call; predictions are flushed after each batch
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0


@dataclass
class ProblemsConfig:
    """Math problems with reference answers (``solve``, ``refine``, ``verify-vote``).

    ``source``: ``math500`` / ``gsm8k`` (a local file in the public format via ``path``, else the Hub:
    HuggingFaceH4/MATH-500, openai/gsm8k) or ``file`` / ``hub`` with ``fields`` naming the problem and
    answer columns (and optionally id). GSM8K answers "... #### 18" are cut to the number after ####.
    """

    source: str = "math500"  # math500 | gsm8k | file | hub
    path: Optional[str] = None
    hub_name: Optional[str] = None  # default per source
    subset: Optional[str] = None
    split: str = "test"
    fields: dict[str, str] = field(default_factory=dict)  # problem / answer / id -> column
    limit: Optional[int] = None


@dataclass
class RoleConfig:
    """One model in a pipeline (the generator, the critic): what it is, how it runs, how it samples."""

    model: ModelConfig = field(default_factory=ModelConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


@dataclass
class SolveConfig:
    """``deepcritic solve``: answer accuracy of a solver (e.g. a CFT model) on problem sets, with math-verify."""

    generator: RoleConfig = field(default_factory=RoleConfig)
    benchmarks: dict[str, Any] = field(default_factory=dict)  # name -> a ProblemsConfig mapping
    limit: Optional[int] = None  # at most N problems per benchmark
    maj_k: Optional[list[int]] = None  # majority-vote points (each <= generator.sampling.n)
    solve_template: Optional[str] = None  # null = deepcritic/critique/templates/solve.txt
    batch_size: int = 64
    answer_timeout_s: int = 5  # math-verify parse / verify time limit per answer
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0


@dataclass
class RefineConfig:
    """``deepcritic refine`` (critique-guided revision) and ``deepcritic verify-vote`` (critic-verified voting).

    refine: the generator solves each problem once, the critic critiques the solution's steps, and where
    it names a wrong step the generator revises with the critique. verify-vote: the generator samples
    ``generator.sampling.n`` solutions, the critic judges each, and answers the critic accepts are voted.
    """

    generator: RoleConfig = field(default_factory=RoleConfig)
    critic: RoleConfig = field(default_factory=RoleConfig)
    benchmarks: dict[str, Any] = field(default_factory=dict)  # name -> a ProblemsConfig mapping
    limit: Optional[int] = None  # at most N problems per benchmark
    solve_template: Optional[str] = None  # null = deepcritic/critique/templates/solve.txt
    revise_template: Optional[str] = None  # null = deepcritic/critique/templates/revise.txt
    batch_size: int = 64
    answer_timeout_s: int = 5
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0


@dataclass
class ReportConfig:
    """``deepcritic report runs=[dir1,dir2]``: put several eval (or solve/refine) runs side by side."""

    runs: list[str] = field(default_factory=list)  # run directories holding metrics.json (globs allowed)
    names: list[str] = field(default_factory=list)  # row labels; default: each run's model name
    metric: Optional[str] = None  # e.g. f1, acc_error, parse_rate, maj@8; null = each run's primary metric
    output: Optional[str] = None  # directory for report.md / report.png; default: the run directory


@dataclass
class RewardConfig:
    """The GRPO reward (``deepcritic/rewards.py``, whose ``RewardRules`` these fields mirror; group ``reward``).

    1.0 when the critique's final judgment equals the label, else 0.0; a truncated or unparseable
    critique scores 0.0. The two optional rules are off by default.
    """

    strict_format: bool = True  # the answer line must appear once, as the last non-empty line
    require_step_consistency: bool = False  # per-step \boxed{1}/\boxed{-1} must agree with the verdict
    length_penalty: float = 0.0  # a right judgment loses length_penalty * (tokens - start) / start (floor 0)
    length_penalty_start: int = 4096  # tokens; the penalty applies beyond this length


@dataclass
class GRPOOptions:
    """The RL algorithm (TRL ``GRPOTrainer``) and the learning-signal switches of ``deepcritic grpo``.

    Samples per prompt, temperature and the completion length limit are the ``sampling`` section
    (``n``, ``temperature``, ``max_new_tokens``). With a 0/1 reward a group whose samples all score the
    same has zero advantage and carries no gradient: ``deepcritic filter`` removes such prompts before
    training, ``dynamic_sampling`` drops such groups during training and refills the batch (DAPO).
    """

    beta: float = 0.0  # KL coefficient to the initial model; 0 = no reference model is kept
    epsilon: float = 0.2  # clip range of the probability ratio (lower side)
    epsilon_high: Optional[float] = None  # upper side (DAPO "clip-higher", e.g. 0.28); null = epsilon
    loss_type: str = "dapo"  # TRL: dapo (token-level, global normaliser) | grpo | dr_grpo | bnpo | cispo | ...
    scale_rewards: str = "group"  # advantage = (r - group mean) / std over: group | batch | none (no division)
    num_iterations: int = 1  # optimisation passes over each generated batch (mu)
    mask_truncated_completions: bool = False  # true: completions cut at max_new_tokens are left out of the loss
    importance_sampling_correction: bool = True  # vLLM: reweight by trainer/engine probability ratio (TRL TIS)
    dynamic_sampling: bool = False  # drop zero-variance groups, refill with fresh prompts (DAPO dynamic sampling)
    dynamic_sampling_max_rounds: int = 3  # extra generation rounds per batch at most; then what is left is kept
    balance_error_fraction: Optional[float] = None  # e.g. 0.5: downsample so this share of records has an error
    max_prompt_length: Optional[int] = None  # drop (and count) records whose critic prompt is longer, in tokens
    log_completions: bool = True  # wandb table + <output_dir>/completions/*.parquet: completion, verdict, label
    num_completions_to_print: int = 2  # completions shown on the console at each logging step
    verify_engine_sync: bool = False  # colocate: after training, check the engine holds the trained weights


@dataclass
class GRPORecipeConfig:
    """``deepcritic grpo``: reinforce the critic with a 0/1 judgment reward (TRL GRPOTrainer, vLLM rollouts).

    ``train`` is shared with SFT: its batch sizes count completions (prompts x ``sampling.n``); its
    ``max_length``, ``drop_overlong`` and ``packing`` are SFT settings that grpo ignores (lengths are bounded
    by ``grpo.max_prompt_length`` and ``sampling.max_new_tokens``).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rollout: RolloutConfig = field(default_factory=lambda: RolloutConfig(
        vllm=VLLMEngineConfig(gpu_memory_utilization=0.3)))
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(n=8, temperature=1.0,
                                                                            max_new_tokens=8192))
    reward: RewardConfig = field(default_factory=RewardConfig)
    grpo: GRPOOptions = field(default_factory=GRPOOptions)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        learning_rate=1e-6, epochs=1.0, scheduler="constant", warmup_ratio=0.0, global_batch_size=128,
        per_device_batch_size=8, logging_steps=1, save_steps=50))
    deepspeed: DeepSpeedConfig = field(default_factory=DeepSpeedConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 42


@dataclass
class FilterConfig:
    """``deepcritic filter``: keep the records whose pass rate under the current model lies in [min_pass, max_pass].

    Each record gets ``sampling.n`` critiques; its pass rate is the fraction whose judgment the reward
    (``reward`` rules, length penalty aside) counts as right. Records every sample gets right, or every
    sample gets wrong, give GRPO no gradient; the default bounds drop them for any n up to 9.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(n=8, temperature=1.0,
                                                                            max_new_tokens=8192))
    reward: RewardConfig = field(default_factory=RewardConfig)
    min_pass: float = 0.1  # keep records with min_pass <= pass rate <= max_pass
    max_pass: float = 0.9
    batch_size: int = 64  # records per generation call; results are saved per batch (a rerun resumes)
    output: Optional[str] = None  # kept records (data-contract JSONL); default <run dir>/kept.jsonl
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0


@dataclass
class SynthesizeConfig:
    """``deepcritic synthesize``: a teacher writes deliberate critiques of step-labeled records (SFT seed data).

    Per step up to the first wrong one: an initial critique, ``in_depth_samples`` in-depth critiques
    (the first whose judgment agrees with the label is kept) and a merge of the two; the merged
    critiques are assembled in the critique protocol's format. ``teacher.model.from_scratch=true`` (the
    default, ``model=tiny``) builds a random tiny teacher in the run directory: it exercises the pipeline
    on a CPU but writes noise; real runs set ``teacher.model.name_or_path`` (see
    experiment=synthesize_qwen2.5_72b).
    """

    teacher: RoleConfig = field(default_factory=lambda: RoleConfig(
        sampling=SamplingConfig(n=1, temperature=0.7, max_new_tokens=2048)))
    data: DataConfig = field(default_factory=lambda: DataConfig(source="prm800k"))
    initial_template: Optional[str] = None  # null = deepcritic/critique/templates/initial_critique.txt
    in_depth_template: Optional[str] = None  # null = .../in_depth_critique.txt
    merge_template: Optional[str] = None  # null = .../merge_critique.txt
    critic_template: Optional[str] = None  # the SFT prompt (user turn); null = .../critic.txt
    in_depth_samples: int = 4  # stage 2 samples per step; the first agreeing with the label is kept
    merge_samples: int = 1  # stage 3 samples per step; the first whose judgment agrees is kept
    extra_correct: int = 0  # correct solutions whose initial critiques were all right, added to the mix
    batch_size: int = 64  # prompts per generation call; stage results are saved per batch (a rerun resumes)
    output: Optional[str] = None  # SFT chats (JSONL); default <run dir>/sft.jsonl
    seed: int = 0  # picks the extra correct solutions


@dataclass
class LabelConfig:
    """``deepcritic label``: Monte-Carlo step labels for RL (``deepcritic/data/mc.py``).

    The generator samples ``generator.sampling.n`` solutions per problem; problems with both right and
    wrong answers (math-verify) are kept; for every wrong solution and ``num_correct`` right ones,
    ``rollouts_per_step`` continuations are sampled from each step prefix; the first step whose
    estimate is <= ``threshold`` is the label.
    """

    generator: RoleConfig = field(default_factory=lambda: RoleConfig(
        sampling=SamplingConfig(n=8, temperature=1.0, max_new_tokens=2048)))
    problems: dict[str, Any] = field(default_factory=dict)  # name -> a ProblemsConfig mapping
    limit: Optional[int] = None  # at most N problems per problem set
    reference: str = "answer"  # answer | boxed (the answer column is a worked solution, e.g. NuminaMath-CoT)
    rollouts_per_step: int = 8  # K continuations from every step prefix
    rollout_max_new_tokens: Optional[int] = None  # per continuation; null = generator.sampling.max_new_tokens
    num_correct: int = 1  # right solutions labeled per kept problem (-1: all)
    threshold: float = 0.0  # first wrong step: estimate <= threshold (0 = no continuation recovers)
    max_steps: int = 30  # solutions with more steps are not labeled (counted)
    solve_template: Optional[str] = None  # null = deepcritic/critique/templates/solve.txt
    continue_template: Optional[str] = None  # null = deepcritic/critique/templates/continue.txt
    batch_size: int = 64  # prompts per generation call; results are saved per batch (a rerun resumes)
    answer_timeout_s: int = 5
    output: Optional[str] = None  # data-contract JSONL; default <run dir>/labels.jsonl
    seed: int = 0


@dataclass
class CandidatesConfig:
    """The (question, candidate solution) pairs that ``deepcritic cft-data`` critiques.

    ``source``: ``generate`` (the generator samples solutions to the ``problems`` sets) or ``file`` (a
    local json/jsonl/parquet file with the fields named below).
    """

    source: str = "generate"  # generate | file
    path: Optional[str] = None
    question_field: str = "question"
    solution_field: str = "solution"
    answer_field: Optional[str] = None  # reference final answer, when the file has one
    id_field: Optional[str] = None  # default: the row number
    limit: Optional[int] = None


@dataclass
class CFTDataConfig:
    """``deepcritic cft-data``: a teacher critiques candidate solutions, ending "Conclusion: right|wrong".

    Rows are written in the WebInstruct-CFT form ``{instruction, input, output}`` that ``deepcritic cft``
    reads (``chat=webinstruct_cft chat.path=<output>``).
    """

    teacher: RoleConfig = field(default_factory=lambda: RoleConfig(
        sampling=SamplingConfig(n=1, temperature=0.0, max_new_tokens=2048)))
    generator: RoleConfig = field(default_factory=lambda: RoleConfig(
        sampling=SamplingConfig(n=1, temperature=0.7, max_new_tokens=2048)))
    candidates: CandidatesConfig = field(default_factory=CandidatesConfig)
    problems: dict[str, Any] = field(default_factory=dict)  # candidates.source=generate: name -> ProblemsConfig
    limit: Optional[int] = None  # at most N problems per set (generate) or candidates (file)
    reference: str = "answer"  # answer | boxed (generate: the answer column is a worked solution)
    solve_template: Optional[str] = None  # generate: null = deepcritic/critique/templates/solve.txt
    critique_template: Optional[str] = None  # null = deepcritic/critique/templates/cft_critique.txt
    instruction: str = "Please critique whether the following solution to the question is correct."
    require_agreement: bool = True  # with a reference answer: keep critiques whose conclusion matches math-verify
    batch_size: int = 64
    answer_timeout_s: int = 5
    output: Optional[str] = None  # WebInstruct-CFT JSONL; default <run dir>/cft.jsonl
    seed: int = 0


@dataclass
class DemoTaskConfig:
    """The demo's task: the synthetic arithmetic critique (``synthetic``) and four disjoint splits of it.

    Each split draws its own records (its own seed): ``sft`` (gold critiques: SFT targets), ``grpo``
    (labels only), ``dev`` (every choice: the SFT budget, the GRPO schedule, the curve during GRPO) and
    ``held_out`` (evaluated before and after GRPO, never used for a choice). A training or dev record
    that also occurs in a later split (same problem and steps) is dropped from the earlier one, so
    held-out records are never trained on. SFT may draw from an easier variant: ``sft_error_rate``.
    """

    synthetic: SyntheticConfig = field(default_factory=lambda: SyntheticConfig(
        min_steps=2, max_steps=4, max_operand=4, max_value=9, ops=["+", "-"], error_rate=0.5, max_error_delta=3,
        critique="count_compare"))
    sft_records: int = 8000
    grpo_records: int = 4000
    dev_records: int = 200
    held_out_records: int = 400  # the learning claim needs >= 400 (benchmarks/demo_learns.py)
    sft_seed: int = 1
    grpo_seed: int = 2
    dev_seed: int = 3
    held_out_seed: int = 4
    sft_error_rate: Optional[float] = None  # SFT split's share of records with a wrong step; null = synthetic's


@dataclass
class DemoGRPOConfig:
    """The demo's GRPO stage (``deepcritic grpo`` with these sections; rollouts from the top-level ``rollout``)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        learning_rate=1e-4, epochs=1.0, max_steps=100, scheduler="constant", warmup_ratio=0.0, global_batch_size=128,
        per_device_batch_size=128, max_length=512, gradient_checkpointing=False, logging_steps=1,
        save_steps=1_000_000, save_total_limit=1, resume="never"))
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(
        n=8, temperature=1.0, max_new_tokens=200, seed=None))
    options: GRPOOptions = field(default_factory=lambda: GRPOOptions(
        beta=0.0, loss_type="dapo", scale_rewards="group", log_completions=False, num_completions_to_print=0,
        verify_engine_sync=True, dynamic_sampling=True, dynamic_sampling_max_rounds=2))
    reward: RewardConfig = field(default_factory=RewardConfig)


@dataclass
class DemoEvalConfig:
    """The demo's evaluations: greedy critiques with vLLM, the F1 difference's paired bootstrap, dev curve."""

    max_new_tokens: int = 200  # per critique (a counted 4-step critique is at most about 180 tokens)
    batch_size: int = 400  # records per generation call (predictions are written after each)
    dev_every: int = 10  # GRPO steps between dev-split evaluations (the curve in plot.png); 0 = none
    bootstrap_resamples: int = 2000
    bootstrap_seed: int = 0
    baseline_seed: int = 0  # the random-step baseline's draws


@dataclass
class DemoConfig:
    """``deepcritic demo``: the whole pipeline on a CPU: tiny model, SFT, eval, GRPO, eval, report.

    ``model``: with ``from_scratch`` (the default) a tiny Qwen2 and a digit-level tokenizer are built
    from ``model.tiny``; ``model.template`` null = the demo's short prompt
    (``deepcritic/critique/templates/demo_critic.txt``). ``sft`` is the SFT stage's training section,
    ``grpo`` the GRPO stage's sections, ``rollout`` the vLLM engine of GRPO and of both evaluations.
    """

    model: ModelConfig = field(default_factory=lambda: ModelConfig(
        name_or_path="tiny-qwen2", from_scratch=True, dtype="fp32", tiny=TinyModelConfig(
            hidden_size=128, num_layers=2, num_heads=2, num_kv_heads=2, intermediate_size=512, vocab_size=384,
            split_digits=True, max_position_embeddings=1024, seed=0)))
    task: DemoTaskConfig = field(default_factory=DemoTaskConfig)
    sft: TrainConfig = field(default_factory=lambda: TrainConfig(
        learning_rate=3e-3, epochs=1.0, max_steps=1400, scheduler="cosine", warmup_ratio=0.05, global_batch_size=32,
        per_device_batch_size=32, max_length=512, gradient_checkpointing=False, logging_steps=20,
        save_steps=1_000_000, save_total_limit=1, resume="never"))
    grpo: DemoGRPOConfig = field(default_factory=DemoGRPOConfig)
    rollout: RolloutConfig = field(default_factory=lambda: RolloutConfig(
        vllm=VLLMEngineConfig(max_model_len=512, kv_cache_memory_gib=1.0, enable_prefix_caching=True)))
    eval: DemoEvalConfig = field(default_factory=DemoEvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 42


# ----------------------------------------------------------------------------------------------------
# Validation: every check appends a Problem; nothing raises until all sections are checked.

VALID_OPS = ("+", "-", "*")
CRITIQUE_STYLES = ("full", "terse", "count", "count_compare")


def _check_data(d: DataConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if d.source not in SOURCES:
        out.append(Problem(f"{key}.source", d.source, f"use one of {', '.join(SOURCES)}"))
    if d.on_error not in ("raise", "skip"):
        out.append(Problem(f"{key}.on_error", d.on_error, "use 'raise' (stop at the first bad record) or 'skip'"))
    if d.source in ("prm800k", "contract", "generic") and not d.path:
        out.append(Problem(f"{key}.path", d.path, f"source '{d.source}' reads a local file: set {key}.path=<file>"))
    if d.source in ("processbench", "mr_gsm8k") and not d.path and not d.hub_name:
        out.append(Problem(f"{key}.path", d.path, f"set {key}.path=<file> or {key}.hub_name=<dataset>"))
    if d.source == "hub" and not d.hub_name:
        out.append(Problem(f"{key}.hub_name", d.hub_name, f"set {key}.hub_name=<owner/dataset>"))
    if d.source in ("generic", "hub"):
        missing = [f for f in ("problem", "steps", "label") if f not in d.fields]
        if missing:
            out.append(Problem(f"{key}.fields", dict(d.fields),
                               f"map every required record field to a source field; missing: {', '.join(missing)} "
                               f"(e.g. +{key}.fields.{missing[0]}=<column>)"))
    if d.limit is not None and d.limit < 1:
        out.append(Problem(f"{key}.limit", d.limit, "use a positive count, or null for all records"))
    if d.source == "synthetic":
        out += _check_synthetic(d.synthetic, f"{key}.synthetic")
    return out


def _check_synthetic(s: SyntheticConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if s.num_records < 1:
        out.append(Problem(f"{key}.num_records", s.num_records, "use at least 1"))
    if s.min_steps < 1:
        out.append(Problem(f"{key}.min_steps", s.min_steps, "use at least 1"))
    if s.max_steps < s.min_steps:
        out.append(Problem(f"{key}.max_steps", s.max_steps, f"must be >= min_steps ({s.min_steps})"))
    if s.max_operand < 1:
        out.append(Problem(f"{key}.max_operand", s.max_operand, "use at least 1"))
    bad_ops = [op for op in s.ops if op not in VALID_OPS]
    if not s.ops or bad_ops:
        out.append(Problem(f"{key}.ops", list(s.ops), f"a non-empty subset of {list(VALID_OPS)}"))
    if not 0.0 <= s.error_rate <= 1.0:
        out.append(Problem(f"{key}.error_rate", s.error_rate, "a fraction in [0, 1]"))
    if s.max_error_delta < 1:
        out.append(Problem(f"{key}.max_error_delta", s.max_error_delta, "use at least 1"))
    if s.max_value is not None and s.max_value < 2:
        out.append(Problem(f"{key}.max_value", s.max_value, "null (no bound) or at least 2"))
    if s.critique not in CRITIQUE_STYLES:
        out.append(Problem(f"{key}.critique", s.critique, f"use one of {', '.join(CRITIQUE_STYLES)}"))
    return out


def _check_model(m: ModelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not m.name_or_path and not m.from_scratch:
        out.append(Problem(f"{key}.name_or_path", m.name_or_path, "set a Hub model name or a local path"))
    if m.dtype not in ("auto", "bf16", "fp16", "fp32"):
        out.append(Problem(f"{key}.dtype", m.dtype, "use auto, bf16, fp16 or fp32"))
    if m.from_scratch:
        out += _check_tiny(m.tiny, f"{key}.tiny")
    return out


def _check_tiny(t: TinyModelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    for name in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size"):
        if getattr(t, name) < 1:
            out.append(Problem(f"{key}.{name}", getattr(t, name), "use at least 1"))
    if t.num_heads >= 1 and t.hidden_size % t.num_heads:
        out.append(Problem(f"{key}.hidden_size", t.hidden_size, f"must be a multiple of num_heads ({t.num_heads})"))
    elif t.num_heads >= 1 and t.hidden_size // t.num_heads < 64:
        out.append(Problem(f"{key}.num_heads", t.num_heads,
                           f"head size hidden_size/num_heads = {t.hidden_size // t.num_heads} is below 64, which "
                           "vLLM's CPU attention rejects; use fewer heads or a larger hidden_size"))
    if t.num_kv_heads >= 1 and t.num_heads % t.num_kv_heads:
        out.append(Problem(f"{key}.num_kv_heads", t.num_kv_heads, f"must divide num_heads ({t.num_heads})"))
    if t.vocab_size < 300:
        out.append(Problem(f"{key}.vocab_size", t.vocab_size, "use at least 300 (256 byte symbols + specials + merges)"))
    return out


CHAT_SOURCES = ("records", "messages", "cft")


def _check_chat(c: ChatDataConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if c.source not in CHAT_SOURCES:
        out.append(Problem(f"{key}.source", c.source, f"use one of {', '.join(CHAT_SOURCES)}"))
    elif c.source != "records" and not c.path and not c.hub_name:
        out.append(Problem(f"{key}.path", c.path, f"source '{c.source}' needs {key}.path=<file> or {key}.hub_name=<dataset>"))
    if c.limit is not None and c.limit < 1:
        out.append(Problem(f"{key}.limit", c.limit, "use a positive count, or null for all examples"))
    return out


def _check_train(t: TrainConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if t.learning_rate <= 0:
        out.append(Problem(f"{key}.learning_rate", t.learning_rate, "use a positive learning rate, e.g. 1e-5"))
    if t.max_steps <= 0 and t.epochs <= 0:
        out.append(Problem(f"{key}.epochs", t.epochs, "use a positive number of epochs, or set max_steps > 0"))
    if not 0.0 <= t.warmup_ratio < 1.0:
        out.append(Problem(f"{key}.warmup_ratio", t.warmup_ratio, "a fraction in [0, 1)"))
    if t.per_device_batch_size < 1:
        out.append(Problem(f"{key}.per_device_batch_size", t.per_device_batch_size, "use at least 1"))
    if t.global_batch_size is not None and t.global_batch_size < max(t.per_device_batch_size, 1):
        out.append(Problem(f"{key}.global_batch_size", t.global_batch_size,
                           f"must be at least per_device_batch_size ({t.per_device_batch_size}), or null"))
    if t.global_batch_size is None and t.gradient_accumulation_steps < 1:
        out.append(Problem(f"{key}.gradient_accumulation_steps", t.gradient_accumulation_steps, "use at least 1"))
    if t.max_length < 16:
        out.append(Problem(f"{key}.max_length", t.max_length, "use at least 16 tokens (the DeepCritic SFT uses 16384)"))
    for name in ("logging_steps", "save_steps"):
        if getattr(t, name) < 1:
            out.append(Problem(f"{key}.{name}", getattr(t, name), "use at least 1"))
    if t.save_total_limit is not None and t.save_total_limit < 1:
        out.append(Problem(f"{key}.save_total_limit", t.save_total_limit, "use at least 1, or null to keep all"))
    if not t.resume:
        out.append(Problem(f"{key}.resume", t.resume, "use auto, never, or a checkpoint directory"))
    if t.lora.enabled:
        if t.lora.r < 1:
            out.append(Problem(f"{key}.lora.r", t.lora.r, "use a positive rank, e.g. 16"))
        if not t.lora.target_modules:
            out.append(Problem(f"{key}.lora.target_modules", list(t.lora.target_modules),
                               "name the modules to adapt, e.g. [q_proj,v_proj] or [all-linear]"))
    return out


def _check_logger(lg: LoggerConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if lg.backend not in ("wandb", "none"):
        out.append(Problem(f"{key}.backend", lg.backend, "use wandb or none"))
    if lg.mode not in ("online", "offline", "disabled"):
        out.append(Problem(f"{key}.mode", lg.mode, "use online, offline or disabled"))
    return out


def _check_deepspeed(ds: DeepSpeedConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if ds.stage not in (0, 2, 3):
        out.append(Problem(f"{key}.stage", ds.stage, "use 0 (off), 2 or 3"))
    if ds.offload_params and ds.stage != 3:
        out.append(Problem(f"{key}.offload_params", True, "parameter offload needs stage=3"))
    if (ds.offload_optimizer or ds.offload_params) and ds.stage == 0:
        out.append(Problem(f"{key}.offload_optimizer", ds.offload_optimizer, "offload needs stage=2 or 3"))
    return out


BACKENDS = ("vllm", "openai", "hf")
PROBLEM_SOURCES = ("math500", "gsm8k", "file", "hub")


def _check_sampling(s: SamplingConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if s.n < 1:
        out.append(Problem(f"{key}.n", s.n, "use at least 1 sample per prompt"))
    if s.temperature < 0:
        out.append(Problem(f"{key}.temperature", s.temperature, "use 0 (greedy) or a positive temperature"))
    elif s.temperature == 0 and s.n > 1:
        out.append(Problem(f"{key}.temperature", s.temperature,
                           f"greedy decoding gives {s.n} identical samples: set a temperature > 0 (e.g. 0.7) or n=1"))
    if not 0.0 < s.top_p <= 1.0:
        out.append(Problem(f"{key}.top_p", s.top_p, "a fraction in (0, 1]"))
    if s.max_new_tokens < 1:
        out.append(Problem(f"{key}.max_new_tokens", s.max_new_tokens, "use at least 1 token"))
    return out


def _check_rollout(r: RolloutConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if r.backend not in BACKENDS:
        out.append(Problem(f"{key}.backend", r.backend, f"use one of {', '.join(BACKENDS)}"))
    v, o = r.vllm, r.openai
    if r.backend == "vllm":
        if v.tensor_parallel_size < 1:
            out.append(Problem(f"{key}.vllm.tensor_parallel_size", v.tensor_parallel_size, "use at least 1"))
        if not 0.0 < v.gpu_memory_utilization <= 1.0:
            out.append(Problem(f"{key}.vllm.gpu_memory_utilization", v.gpu_memory_utilization, "a fraction in (0, 1]"))
        if v.kv_cache_memory_gib is not None and v.kv_cache_memory_gib <= 0:
            out.append(Problem(f"{key}.vllm.kv_cache_memory_gib", v.kv_cache_memory_gib, "a positive size, or null"))
    if r.backend == "openai":
        if not o.base_url.startswith(("http://", "https://")):
            out.append(Problem(f"{key}.openai.base_url", o.base_url, "an http(s) URL, e.g. http://127.0.0.1:8000/v1"))
        if o.concurrency < 1:
            out.append(Problem(f"{key}.openai.concurrency", o.concurrency, "use at least 1"))
        if o.max_retries < 0 or o.timeout_s <= 0:
            out.append(Problem(f"{key}.openai.max_retries", o.max_retries, "use >= 0 retries and a positive timeout_s"))
        if o.requests_per_second is not None and o.requests_per_second <= 0:
            out.append(Problem(f"{key}.openai.requests_per_second", o.requests_per_second, "a positive rate, or null"))
        if o.api_key_env is not None and not looks_like_env_name(o.api_key_env):
            out.append(Problem(f"{key}.openai.api_key_env", "<hidden>",
                               "the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), "
                               "never the key itself"))
    if r.backend == "hf" and r.hf.batch_size < 1:
        out.append(Problem(f"{key}.hf.batch_size", r.hf.batch_size, "use at least 1"))
    return out


def looks_like_env_name(name: str) -> bool:
    """An environment variable name (letters, digits, _; not starting with a digit; at most 64 chars) that
    does not look like a pasted API key (``sk-...``, ``sk_...``)."""
    import re

    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name)) and not name.lower().startswith(("sk_", "sk-"))


def _check_problems(p: ProblemsConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if p.source not in PROBLEM_SOURCES:
        out.append(Problem(f"{key}.source", p.source, f"use one of {', '.join(PROBLEM_SOURCES)}"))
    if p.source == "file" and not p.path:
        out.append(Problem(f"{key}.path", p.path, f"source 'file' reads a local file: set {key}.path=<file>"))
    if p.source == "hub" and not p.hub_name:
        out.append(Problem(f"{key}.hub_name", p.hub_name, f"set {key}.hub_name=<owner/dataset>"))
    if p.source in ("file", "hub"):
        missing = [f for f in ("problem", "answer") if f not in p.fields]
        if missing:
            out.append(Problem(f"{key}.fields", dict(p.fields),
                               f"map {', '.join(missing)} to columns, e.g. +{key}.fields.{missing[0]}=<column>"))
    if p.limit is not None and p.limit < 1:
        out.append(Problem(f"{key}.limit", p.limit, "use a positive count, or null for all problems"))
    return out


def _check_common_run(cfg: Any, n: int, n_key: str) -> list[Problem]:
    """Checks shared by eval / solve / refine: benchmarks, limit, batch size, Maj@k points."""
    out: list[Problem] = []
    if not cfg.benchmarks:
        out.append(Problem("benchmarks", {}, "name at least one benchmark, e.g. benchmarks=processbench or "
                                            "+benchmarks.mine={source:contract,path:my.jsonl}"))
    if cfg.limit is not None and cfg.limit < 1:
        out.append(Problem("limit", cfg.limit, "use a positive count, or null for all"))
    if cfg.batch_size < 1:
        out.append(Problem("batch_size", cfg.batch_size, "use at least 1"))
    ks = getattr(cfg, "maj_k", None)
    if ks is not None and (not ks or any(k < 1 or k > n for k in ks)):
        out.append(Problem("maj_k", list(ks), f"each k in 1..{n_key} ({n}), or null for 1, 2, 4, ..., {n_key}"))
    return out


def as_section(entry: Any, cls: type, key: str) -> tuple[Any, list[Problem]]:
    """``entry`` (a mapping, e.g. one benchmark) as the dataclass ``cls``: ``(instance, [])``, or
    ``(None, problems)`` naming the unknown key or mistyped value."""
    if isinstance(entry, cls):
        return entry, []
    if not isinstance(entry, dict):
        return None, [Problem(key, entry, f"a mapping of {cls.__name__} fields, e.g. {{source: contract, path: x.jsonl}}")]
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), entry)), []
    except Exception as exc:  # omegaconf's ValidationError / ConfigKeyError: report it as a config problem
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(key, entry, f"not a valid {cls.__name__} ({reason}); see deepcritic/config.py")]


def sections(entries: dict[str, Any], cls: type, key: str) -> dict[str, Any]:
    """Every entry of a named-section dict (``benchmarks``) as ``cls``; raises ConfigError listing the bad ones."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, entry in entries.items():
        obj, bad = as_section(entry, cls, f"{key}.{name}")
        problems += bad
        if obj is not None:
            out[name] = obj
    if problems:
        raise ConfigError(problems)
    return out


def _check_sections(entries: dict[str, Any], cls: type, key: str) -> list[Problem]:
    problems: list[Problem] = []
    for name, entry in entries.items():
        obj, bad = as_section(entry, cls, f"{key}.{name}")
        problems += bad if obj is None else _SECTION_CHECKS[cls](obj, f"{key}.{name}")
    return problems


def _check_saved_model(role_key: str, model: ModelConfig, rollout: RolloutConfig) -> list[Problem]:
    if model.from_scratch and rollout.backend != "openai":
        return [Problem(f"{role_key}.from_scratch", True,
                        "generation reads a saved model: set name_or_path to a checkpoint directory or Hub name "
                        "(e.g. the output of deepcritic sft) and from_scratch=false")]
    return []


def _check_eval(cfg: "EvalConfig") -> list[Problem]:
    return (_check_sections(cfg.benchmarks, DataConfig, "benchmarks")
            + _check_common_run(cfg, cfg.sampling.n, "sampling.n")
            + _check_saved_model("model", cfg.model, cfg.rollout))


def _check_solve(cfg: "SolveConfig") -> list[Problem]:
    g = cfg.generator
    return (_check_sections(cfg.benchmarks, ProblemsConfig, "benchmarks")
            + _check_common_run(cfg, g.sampling.n, "generator.sampling.n")
            + _check_saved_model("generator.model", g.model, g.rollout))


def _check_refine(cfg: "RefineConfig") -> list[Problem]:
    out = _check_sections(cfg.benchmarks, ProblemsConfig, "benchmarks") + _check_common_run(cfg, 1, "1")
    for role in ("generator", "critic"):
        r = getattr(cfg, role)
        out += _check_saved_model(f"{role}.model", r.model, r.rollout)
    return out


def _check_report(cfg: "ReportConfig") -> list[Problem]:
    if not cfg.runs:
        return [Problem("runs", [], "list the run directories to compare, e.g. runs=[runs/eval/a,runs/eval/b]")]
    if cfg.names and len(cfg.names) != len(cfg.runs):
        return [Problem("names", list(cfg.names), f"give one name per run ({len(cfg.runs)}), or none")]
    return []


GRPO_LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")


def _check_reward(r: RewardConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if r.length_penalty < 0:
        out.append(Problem(f"{key}.length_penalty", r.length_penalty, "use 0 (off) or a positive weight, e.g. 0.5"))
    if r.length_penalty_start < 1:
        out.append(Problem(f"{key}.length_penalty_start", r.length_penalty_start, "use a positive token count"))
    return out


def _check_grpo_options(g: GRPOOptions, key: str) -> list[Problem]:
    out: list[Problem] = []
    if g.beta < 0:
        out.append(Problem(f"{key}.beta", g.beta, "use 0 (no KL term) or a positive coefficient, e.g. 0.001"))
    if g.epsilon <= 0:
        out.append(Problem(f"{key}.epsilon", g.epsilon, "use a positive clip range, e.g. 0.2"))
    if g.epsilon_high is not None and g.epsilon_high < g.epsilon:
        out.append(Problem(f"{key}.epsilon_high", g.epsilon_high, f"use null or a value >= epsilon ({g.epsilon})"))
    if g.loss_type not in GRPO_LOSS_TYPES:
        out.append(Problem(f"{key}.loss_type", g.loss_type, f"use one of {', '.join(GRPO_LOSS_TYPES)}"))
    if g.scale_rewards not in SCALE_REWARDS:
        out.append(Problem(f"{key}.scale_rewards", g.scale_rewards, f"use one of {', '.join(SCALE_REWARDS)}"))
    if g.num_iterations < 1:
        out.append(Problem(f"{key}.num_iterations", g.num_iterations, "use at least 1"))
    if g.dynamic_sampling and g.dynamic_sampling_max_rounds < 1:
        out.append(Problem(f"{key}.dynamic_sampling_max_rounds", g.dynamic_sampling_max_rounds, "use at least 1"))
    if g.dynamic_sampling and g.scale_rewards == "batch":
        out.append(Problem(f"{key}.scale_rewards", g.scale_rewards,
                           "dynamic sampling moves groups between generated batches, so advantages must not depend "
                           "on the batch: use group or none"))
    if g.balance_error_fraction is not None and not 0.0 < g.balance_error_fraction < 1.0:
        out.append(Problem(f"{key}.balance_error_fraction", g.balance_error_fraction, "a fraction in (0, 1), or null"))
    if g.max_prompt_length is not None and g.max_prompt_length < 1:
        out.append(Problem(f"{key}.max_prompt_length", g.max_prompt_length, "a positive token count, or null"))
    return out


def _check_grpo(cfg: "GRPORecipeConfig") -> list[Problem]:
    out: list[Problem] = []
    r, s, t = cfg.rollout, cfg.sampling, cfg.train
    if r.backend not in ("vllm", "hf"):
        out.append(Problem("rollout.backend", r.backend, "grpo samples with vllm (rollout=colocate or rollout=server) "
                                                         "or hf (plain generate); an openai server cannot take the "
                                                         "trained weights"))
    if r.backend == "vllm" and r.vllm_mode not in VLLM_MODES:
        out.append(Problem("rollout.vllm_mode", r.vllm_mode, f"use one of {', '.join(VLLM_MODES)}"))
    if r.sleep_mode and (r.backend != "vllm" or r.vllm_mode != "colocate"):
        out.append(Problem("rollout.sleep_mode", True, "sleep mode frees a colocated engine: needs rollout.backend=vllm "
                                                       "and rollout.vllm_mode=colocate"))
    if r.backend == "vllm" and r.vllm_mode == "server":
        if not 0 < r.server.port < 65536 or not 0 < r.server.group_port < 65536:
            out.append(Problem("rollout.server.port", r.server.port, "ports in 1..65535"))
        if r.server.base_url is not None and not r.server.base_url.startswith(("http://", "https://")):
            out.append(Problem("rollout.server.base_url", r.server.base_url, "an http(s) URL, e.g. http://host:8000"))
    if s.n < 2:
        out.append(Problem("sampling.n", s.n, "GRPO compares samples of one prompt: use at least 2 (DeepCritic: 8)"))
    if s.temperature <= 0:
        out.append(Problem("sampling.temperature", s.temperature, "GRPO needs sampling: use a positive temperature"))
    if t.global_batch_size is not None and s.n >= 1 and t.global_batch_size % s.n:
        out.append(Problem("train.global_batch_size", t.global_batch_size,
                           f"counts completions per optimizer step and must hold whole groups: a multiple of "
                           f"sampling.n ({s.n})"))
    return out


def _check_filter(cfg: "FilterConfig") -> list[Problem]:
    out: list[Problem] = []
    if not 0.0 <= cfg.min_pass <= cfg.max_pass <= 1.0:
        out.append(Problem("min_pass", [cfg.min_pass, cfg.max_pass], "need 0 <= min_pass <= max_pass <= 1"))
    if cfg.batch_size < 1:
        out.append(Problem("batch_size", cfg.batch_size, "use at least 1"))
    return out + _check_saved_model("model", cfg.model, cfg.rollout)


def _check_datagen_role(role_key: str, role: RoleConfig) -> list[Problem]:
    """A data-generation role runs a saved model, a tiny one built in the run dir, or a server."""
    if role.rollout.backend == "openai" and not (role.rollout.openai.model or not role.model.from_scratch):
        return [Problem(f"{role_key}.rollout.openai.model", None,
                        f"the server's model name is needed: set {role_key}.rollout.openai.model=<served name> "
                        f"(or {role_key}.model.name_or_path=<name> {role_key}.model.from_scratch=false)")]
    return []


def _check_positive(cfg: Any, names: tuple[str, ...]) -> list[Problem]:
    return [Problem(n, getattr(cfg, n), "use at least 1") for n in names if getattr(cfg, n) < 1]


def _check_synthesize(cfg: "SynthesizeConfig") -> list[Problem]:
    out = _check_positive(cfg, ("in_depth_samples", "merge_samples", "batch_size"))
    if cfg.extra_correct < -1:
        out.append(Problem("extra_correct", cfg.extra_correct, "a count >= 0, or -1 for every correct solution"))
    for name, n in (("in_depth_samples", cfg.in_depth_samples), ("merge_samples", cfg.merge_samples)):
        if n > 1 and cfg.teacher.sampling.temperature == 0:
            out.append(Problem("teacher.sampling.temperature", 0.0,
                               f"{name}={n} greedy samples would be identical: set a temperature > 0"))
    return out + _check_datagen_role("teacher", cfg.teacher)


def _check_label(cfg: "LabelConfig") -> list[Problem]:
    out = _check_sections(cfg.problems, ProblemsConfig, "problems")
    if not cfg.problems:
        out.append(Problem("problems", {}, "name at least one problem set, e.g. problems=[gsm8k_file]"))
    out += _check_positive(cfg, ("rollouts_per_step", "max_steps", "batch_size"))
    if cfg.generator.sampling.n < 2:
        out.append(Problem("generator.sampling.n", cfg.generator.sampling.n,
                           "sample at least 2 solutions per problem (a problem is kept when some are right and some wrong)"))
    if cfg.generator.sampling.temperature == 0:
        out.append(Problem("generator.sampling.temperature", 0.0, "Monte-Carlo rollouts need sampling: use a temperature > 0"))
    if not 0.0 <= cfg.threshold < 1.0:
        out.append(Problem("threshold", cfg.threshold, "a fraction in [0, 1) (0 = no continuation reaches the answer)"))
    if cfg.reference not in ("answer", "boxed"):
        out.append(Problem("reference", cfg.reference, "use answer (a bare final answer) or boxed (a worked "
                                                       "solution whose last \\boxed{} is the answer)"))
    if cfg.num_correct < -1:
        out.append(Problem("num_correct", cfg.num_correct, "a count >= 0, or -1 for every right solution"))
    if cfg.limit is not None and cfg.limit < 1:
        out.append(Problem("limit", cfg.limit, "use a positive count, or null for all"))
    return out + _check_datagen_role("generator", cfg.generator)


def _check_cft_data(cfg: "CFTDataConfig") -> list[Problem]:
    c = cfg.candidates
    out = _check_positive(cfg, ("batch_size",)) + _check_datagen_role("teacher", cfg.teacher)
    if c.source not in ("generate", "file"):
        out.append(Problem("candidates.source", c.source, "use generate (sample solutions) or file"))
    elif c.source == "file" and not c.path:
        out.append(Problem("candidates.path", c.path, "candidates.source=file reads a local file: set candidates.path=<file>"))
    elif c.source == "generate":
        out += _check_sections(cfg.problems, ProblemsConfig, "problems") + _check_datagen_role("generator", cfg.generator)
        if not cfg.problems:
            out.append(Problem("problems", {}, "name at least one problem set, e.g. problems=[gsm8k_file], "
                                               "or read pairs from a file: candidates.source=file candidates.path=<file>"))
    if cfg.reference not in ("answer", "boxed"):
        out.append(Problem("reference", cfg.reference, "use answer or boxed"))
    for key, value in (("limit", cfg.limit), ("candidates.limit", c.limit)):
        if value is not None and value < 1:
            out.append(Problem(key, value, "use a positive count, or null for all"))
    return out


def _check_demo(cfg: "DemoConfig") -> list[Problem]:
    t, e = cfg.task, cfg.eval
    out = _check_synthetic(dataclasses.replace(t.synthetic, num_records=max(1, t.synthetic.num_records)),
                           "task.synthetic")
    out += [Problem(f"task.{name}", getattr(t, name), "use at least 1")
            for name in ("sft_records", "grpo_records", "dev_records", "held_out_records") if getattr(t, name) < 1]
    if t.sft_error_rate is not None and not 0.0 <= t.sft_error_rate <= 1.0:
        out.append(Problem("task.sft_error_rate", t.sft_error_rate, "a fraction in [0, 1], or null"))
    seeds = [t.sft_seed, t.grpo_seed, t.dev_seed, t.held_out_seed]
    if len(set(seeds)) < len(seeds):
        out.append(Problem("task.held_out_seed", seeds, "give every split its own seed (sft, grpo, dev, held_out)"))
    for name, low in (("max_new_tokens", 1), ("batch_size", 1), ("dev_every", 0), ("bootstrap_resamples", 100)):
        if getattr(e, name) < low:
            out.append(Problem(f"eval.{name}", getattr(e, name), f"use at least {low}"))
    if cfg.rollout.backend != "vllm" or cfg.rollout.vllm_mode != "colocate":
        out.append(Problem("rollout.backend", f"{cfg.rollout.backend}/{cfg.rollout.vllm_mode}",
                           "the demo samples with a vLLM engine in its own process: rollout.backend=vllm, "
                           "rollout.vllm_mode=colocate"))
    grpo = GRPORecipeConfig(model=cfg.model, rollout=cfg.rollout, sampling=cfg.grpo.sampling, reward=cfg.grpo.reward,
                            grpo=cfg.grpo.options, train=cfg.grpo.train)
    for p in _check_grpo(grpo):  # the GRPO stage's own cross-checks, named by the demo's keys
        key = p.key if p.key.startswith("rollout.") else f"grpo.{p.key}"
        out.append(Problem(key, p.value, p.fix))
    return out


_SECTION_CHECKS = {
    DataConfig: _check_data,
    ModelConfig: _check_model,
    LoggerConfig: _check_logger,
    DeepSpeedConfig: _check_deepspeed,
    ChatDataConfig: _check_chat,
    TrainConfig: _check_train,
    SamplingConfig: _check_sampling,
    RolloutConfig: _check_rollout,
    ProblemsConfig: _check_problems,
    RewardConfig: _check_reward,
    GRPOOptions: _check_grpo_options,
}

# Checks across sections of one recipe config (run after the section checks).
_RECIPE_CHECKS = {
    EvalConfig: _check_eval,
    SolveConfig: _check_solve,
    RefineConfig: _check_refine,
    ReportConfig: _check_report,
    GRPORecipeConfig: _check_grpo,
    FilterConfig: _check_filter,
    SynthesizeConfig: _check_synthesize,
    LabelConfig: _check_label,
    CFTDataConfig: _check_cft_data,
    DemoConfig: _check_demo,
}


def validate(cfg: Any) -> list[Problem]:
    """Every problem in a recipe config (a dataclass instance), section by section, in one list.

    Sections are found by type, so a new recipe config gets the checks of the groups it holds for free.
    """
    problems = _validate_sections(cfg, "")
    recipe_check = _RECIPE_CHECKS.get(type(cfg))
    return problems + (recipe_check(cfg) if recipe_check else [])


def _validate_sections(cfg: Any, prefix: str) -> list[Problem]:
    """Section checks of every field; a dict of sections (``benchmarks``) is checked entry by entry and
    a dataclass without its own check (e.g. ``RoleConfig``) is searched recursively."""
    problems: list[Problem] = []
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        entries = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, item in entries:
            key = prefix + f.name + ("" if sub is None else f".{sub}")
            check = _SECTION_CHECKS.get(type(item))
            if check is not None:
                problems += check(item, key)
            elif is_dataclass(item) and not isinstance(item, type):
                problems += _validate_sections(item, key + ".")
    return problems


def ensure_valid(cfg: Any) -> None:
    """Raise one ConfigError listing every problem, or return quietly."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
