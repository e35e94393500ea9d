"""localconv's benchmark suite: `python -m benchmarks` (see suite.py for the cases)."""
