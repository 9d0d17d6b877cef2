"""Persistence adapters: the DynamoDB single-table repository (the only code that knows keys)."""
