"""The use cases: one module per user operation, each over a shared batch context.

The click commands (`batchrun.commands`) only parse arguments, call one operation here and
render its result; the Python API (`batchrun`) calls the same operations.
"""
