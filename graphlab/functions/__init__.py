"""The public functions of graphlab's ops (``graphlab.exp``, ``graphlab.cat``, …).

Each function validates its arguments, promotes dtypes PyTorch's way and calls the op kernel
in ``graphlab.ops``; ``graphlab._methods`` binds the same functions as ``Tensor`` methods.
"""
