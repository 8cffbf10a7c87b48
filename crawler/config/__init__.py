"""Configuration: the sources-file contract, intervals, the bundled sources and people."""
