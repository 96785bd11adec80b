"""HTTP layer: routes parse the request, call one service and serialise."""
