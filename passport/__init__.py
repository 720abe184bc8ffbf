"""The domain: record kinds, the ledger's append pipeline, the transparency log, actors and keys,
lots and mass balance, provenance roll-ups, the passport and its access partitions.

Talks to storage only through :mod:`passport.store`; never imports FastAPI.
"""
