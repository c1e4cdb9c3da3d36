"""transeval.train: training recipes (TransLLM, LLaMA-beyond-English). Not built yet: see issue 5."""
