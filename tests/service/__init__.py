"""Service-layer tests: each service object with fakes of its ports, no Kafka or PostgreSQL."""
