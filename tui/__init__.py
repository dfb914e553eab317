"""graphlab's tui (built by a later issue)."""
