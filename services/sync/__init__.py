"""The sync service: sends accepted plots to the national land database."""
