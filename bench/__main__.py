"""Entry point: python -m bench run --scale 100k."""

from bench.main import cli

cli()
