"""Benchmarks of the table, the renewals, reminders, metrics and webhooks."""
