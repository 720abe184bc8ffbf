"""`python -m cli`: the same as the `bpass` console script."""

from cli import main

main()
