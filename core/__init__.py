"""rdtui core: config, run store, grading, training, evaluation and backends (no UI)."""

__version__ = "0.1.0"
