"""The national land database simulator (CONTRACT §7): batch upsert, lookup, stats and faults."""
