"""The team's directory: teams and their API keys, people, projects."""
