"""The business rules: each service takes the session and raises domain errors."""
