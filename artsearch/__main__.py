"""`python -m artsearch`: the same command line as the `artsearch` console script."""

from artsearch.cli import main

main()
