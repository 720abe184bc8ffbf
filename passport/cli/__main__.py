"""`python -m passport.cli`: the same as the `bpass` console script."""

from passport.cli import main

main()
