"""The shared core of the symbolic layer: model symbols, the free (noncommutative) algebra, derivation chains,
notation and the formula registry."""
