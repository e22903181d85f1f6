"""`python -m revrec` is the `revrec` command."""

from revrec.cli.main import main

main()
