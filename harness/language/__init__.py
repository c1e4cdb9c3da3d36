"""Language and safety.

Language ID and the wrong-language / switching checks (:mod:`langid`), the refusal matcher (:mod:`refusal`), and
benchmark translation (:mod:`translate`).
"""
