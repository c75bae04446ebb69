"""Gateway health: database plus each service domain's own check; Prometheus metrics."""
