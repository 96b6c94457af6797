"""The chaos suite: a seeded fault schedule run against the stack, then checks of what survived."""
