"""`python -m tenure_local.cli`, the same as the `tenure` console script."""

from tenure_local.cli.main import main

main()
