"""The three LandSync services; each talks to the others only through Kafka and the ledger."""
