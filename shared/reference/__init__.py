"""Reference data: the population registry extract and the issued certificates (CONTRACT §8)."""
