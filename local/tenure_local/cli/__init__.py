"""The `tenure` command line: one module per command group."""
