"""transeval.harness: lm-eval glue, multi-turn runner, TCoT, result store, stats and CLI.

Kept empty on purpose: the start-up hook imports ``transeval.harness._autoload`` at every interpreter
start, so nothing heavy may be imported here.
"""
