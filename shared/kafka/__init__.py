"""Kafka plumbing shared by the services: broker, dead-letter headers, the batch consumer."""
