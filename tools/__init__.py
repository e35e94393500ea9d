"""Command-line entry points (`localconv`, `localconv-opt`): thin layers over the library."""
