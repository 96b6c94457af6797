"""The ``landsync`` command line."""
