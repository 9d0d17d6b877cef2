"""The local report: metrics.json, report.html and its screenshot."""
