"""Evaluation: running a critic over step-labeled solutions (:mod:`.critic`, shared by ``eval`` and the demo),
critic metrics (ProcessBench F1, Maj@k) and the paired bootstrap, solving / refinement / verified voting with a
generator and a critic, comparisons, reports and plots.

The recipes using it: ``deepcritic eval``, ``report``, ``solve``, ``refine``, ``verify-vote``, ``demo``.
"""
