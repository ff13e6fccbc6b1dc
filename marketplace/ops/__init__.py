"""Operating the service: health endpoints and Prometheus metrics (issue 8, observability)."""
