"""The judging pipeline and the run store.

Judge a run's answers (:mod:`pipeline`), judge-free checks per answer (:mod:`checks`: language, refusal),
pairwise comparison of runs (:mod:`compare`), and the files of a run (:mod:`store`).
"""
