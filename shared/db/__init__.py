"""PostgreSQL plumbing: connection pools, schema migrations."""
