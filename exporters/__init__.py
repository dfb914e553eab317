"""graphlab's exporters (built by a later issue)."""
