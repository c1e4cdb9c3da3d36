"""lm-eval integration.

The start-up patches (:mod:`patches`), the multi-turn runner (:mod:`multiturn`), TCoT (:mod:`tcot`), and the
judged task: generation through lm-eval, then the judge (:mod:`judged_task`, :mod:`judged`).
"""
