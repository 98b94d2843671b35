"""Releases of a project: opening one reopens its gates, shipping one is the go/no-go."""
