"""The GRPO stage: what ``deepcritic grpo`` and ``deepcritic filter`` build on.

- :mod:`.data`: step-labeled records -> GRPO prompt rows, class balancing, prompt-length limit (pure).
- :mod:`.metrics`: per-batch critic metrics, F1 over a logging window, the step-time split (pure).
- :mod:`.dynamic`: DAPO dynamic sampling: zero-variance groups, which groups fill a batch, merging batches.
- :mod:`.passrate`: pass rates, the [min_pass, max_pass] selection and its histogram (``deepcritic filter``).
- :mod:`.args`: our config -> ``trl.GRPOConfig``.
- :mod:`.engine`: the colocated vLLM engine: weight sync on CPU, checking it holds the trained weights.
- :mod:`.trainer`: the GRPOTrainer subclass (one overridden method), reward function with metrics, callbacks.
"""
