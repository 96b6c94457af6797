"""The synthetic province of ``landsync generate``: registry, certificates, records and truth."""
