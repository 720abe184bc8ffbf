"""A realistic sample supply chain of EV battery packs and its generator.

:func:`samples.generate.build_sample_ledger` appends it to a ledger through the public interface
(signed records, ``Ledger.append_batch``); ``bpass demo`` loads it and serves the passports.
"""
