"""`python -m wws` is the `wws` command."""

from wws.cli.main import main

main()
