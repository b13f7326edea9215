"""The `wws` command line: thin commands that parse options and call the programmatic API."""
