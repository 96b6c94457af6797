"""The intake service: receives Form 01 records over HTTP, stores them, publishes them to Kafka."""
