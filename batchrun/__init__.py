"""batchrun: a declarative batch job runner for Skyvern browser-automation runs."""

__version__ = "0.1.0"
