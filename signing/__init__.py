"""Pure trust primitives: canonical JSON, keys, DIDs, Data Integrity proofs, Merkle trees, notes.

Nothing in this package performs I/O or touches a database: it takes bytes and dicts and returns
typed results or raises a :class:`signing.errors.BpassError` subclass.
"""
