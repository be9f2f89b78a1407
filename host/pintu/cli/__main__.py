"""`python -m pintu.cli`: the same as the `pintu` command."""

from pintu.cli import main

main()
