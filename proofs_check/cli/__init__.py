"""One module per ``a2ad`` subcommand; each defines ``register(subparsers)``."""
