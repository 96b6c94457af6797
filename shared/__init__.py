"""LandSync shared package: contracts, settings, logging, Kafka and PostgreSQL plumbing, CLI."""
