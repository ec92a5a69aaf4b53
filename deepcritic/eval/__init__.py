"""Evaluation: critic metrics (ProcessBench F1, Maj@k), answer grading with math-verify, solving /
refinement / verified voting with a generator and a critic, resumable result files, reports and plots.

The recipes using it: ``deepcritic eval``, ``report``, ``solve``, ``refine``, ``verify-vote``.
"""
