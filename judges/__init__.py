"""transeval.judges: judge client, persistent cache and rubrics (YAML files in ``rubrics/``)."""
