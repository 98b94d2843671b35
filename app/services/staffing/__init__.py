"""Staffing: assignments, the findings of a staffing, and coverage reports."""
