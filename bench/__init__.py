"""`make bench`: batchrun against a hand-written official-SDK loop, and batchrun at scale.

Everything runs against the project's simulator on loopback; each client is a real child
process so that its CPU time and peak memory are its own. `python -m bench --help`.
"""
