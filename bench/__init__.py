"""Fellesplan benchmark harness: `python -m bench run --scale 100k` (see bench/RESULTS.md)."""
