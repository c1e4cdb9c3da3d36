"""transeval.dashboard: the Streamlit leaderboard (``transeval board RUNS``); pure data functions in data.py."""
