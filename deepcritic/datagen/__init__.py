"""Data generation shared by ``synthesize``, ``label`` and ``cft-data``: resumable teacher/generator stages,
Monte-Carlo labeling helpers, CFT critique helpers. The recipes in ``deepcritic/recipes/`` read top to bottom
on top of these."""
