"""``graphlab.nn.init``: in-place initializers (being written)."""
