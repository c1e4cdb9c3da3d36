"""transeval.core: the foundation every layer may import.

Records passed between the steps task -> generate -> judge -> store -> board (:mod:`records`), the one error
type (:mod:`errors`) and where things live (:mod:`paths`). Nothing here imports another transeval package.
"""
