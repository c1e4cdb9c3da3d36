"""The demo.

The bundled gemma-3-270m (:mod:`model`), the no-key demo judge (:mod:`judge`), and ``transeval demo``
(:mod:`run`).
"""
