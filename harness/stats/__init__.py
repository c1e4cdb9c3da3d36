"""Statistics over judgments.

Means and intervals (:mod:`estimates`), win rates, LC and Bradley-Terry (:mod:`winrate`), judge-human and
judge-judge agreement (:mod:`agreement`).
"""
