"""Dead-letter tooling (CONTRACT §5): list, show and replay the ``land.dlq.*`` topics."""
