"""Training: the one skeleton that ``sft``, ``cft`` and ``grpo`` run (:mod:`.loop`), and what it is built from.

- :mod:`.args`: our config -> the trainers' arguments (shared part + per-trainer part), DeepSpeed, LoRA (pure).
- :mod:`.checkpoints`: which checkpoint a run resumes from; whether one is complete.
- :mod:`.distributed`: world size, a process group for single-process DeepSpeed, one run dir for all ranks.
- :mod:`.card`: the model card written beside every final model.
- :mod:`.loop`: :func:`run`, the training run from run directory to final model, parameterised by a stage.
- :mod:`.sft`: the supervised stage (TRL ``SFTTrainer``) that ``sft`` and ``cft`` share.
"""
