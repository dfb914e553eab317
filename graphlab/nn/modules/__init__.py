"""Module building blocks."""
