"""The repository layer: the only place that builds SQL."""
