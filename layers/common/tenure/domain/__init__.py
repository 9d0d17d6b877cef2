"""Tenure's business rules: pure Python, no AWS, no I/O, clock injected."""
