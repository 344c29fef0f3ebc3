"""The shared core of the symbolic layer: model symbols, the free (noncommutative) algebra, notation and the formula
registry. The bottom of theory: it imports no other sub-package."""
