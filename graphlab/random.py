"""Random number generation: ``manual_seed``, ``Generator``, and the default generators.

On CPU devices draws come from one NumPy ``PCG64`` generator, so a seed reproduces the same
numbers run after run (and, like PyTorch, the default seed is fixed). CUDA devices draw from one
CuPy generator per device, seeded by the same ``manual_seed``: reproducible on the same GPU, but
not equal to the CPU's numbers for the same seed. CuPy's ``Generator`` has fewer draws than
NumPy's; :class:`CupyDraws` adds the ones graphlab uses (``normal``, ``permutation``).
"""

from __future__ import annotations

import numpy as np

DEFAULT_SEED = 67280421310721  # PyTorch's default initial seed


class Generator:
    """A seedable source of random numbers for one device kind (``cpu`` or ``cuda``)."""

    def __init__(self, device="cpu"):
        from ._device import device as _device

        self.device = _device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to ``seed``; returns itself."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: expected an int seed, got {type(seed).__name__}")
        self._seed = int(seed)
        if self.device.type == "cpu":
            self._rng = np.random.Generator(np.random.PCG64(self._seed & (2**64 - 1)))
        else:
            from . import backends

            xp = backends.cuda().xp
            with xp.cuda.Device(self.device.index):
                self._rng = CupyDraws(xp.random.default_rng(self._seed & (2**63 - 1)))
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last reset to."""
        return self._seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy) & (2**63 - 1)
        self.manual_seed(s)
        return s

    def get_state(self):
        """The generator's state (a dict on the CPU), for ``set_state``."""
        if self.device.type == "cpu":
            return self._rng.bit_generator.state
        raise RuntimeError(
            "get_state: saving CUDA generator state is not supported; reseed "
            "with manual_seed instead"
        )

    def set_state(self, state) -> None:
        """Restore a state from ``get_state``."""
        if self.device.type != "cpu":
            raise RuntimeError(
                "set_state: restoring CUDA generator state is not supported; reseed "
                "with manual_seed instead"
            )
        self._rng.bit_generator.state = state

    @property
    def rng(self):
        """The underlying NumPy/CuPy generator."""
        return self._rng


class CupyDraws:
    """A CuPy ``Generator`` with the NumPy ``Generator`` draws graphlab uses: CuPy's has
    ``random``, ``standard_normal`` and ``integers`` but no ``normal`` or ``permutation``.
    Arrays stay on the generator's device."""

    __slots__ = ("generator",)

    def __init__(self, generator):
        self.generator = generator

    def random(self, size=None, dtype=np.float64):
        return self.generator.random(size, dtype=np.dtype(dtype))

    def standard_normal(self, size=None, dtype=np.float64):
        return self.generator.standard_normal(size, dtype=np.dtype(dtype))

    def integers(self, low, high=None, size=None, dtype=np.int64):
        return self.generator.integers(low, high, size, dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self.generator.standard_normal(size) * scale + loc

    def permutation(self, n: int):
        # NOTE: the order of n uniform doubles is a uniform permutation (a tie has probability
        # about n^2 / 2^53)
        return self.generator.random(n).argsort()

    def __repr__(self) -> str:
        return f"CupyDraws({self.generator!r})"


_default: dict = {}


def default_generator(device) -> Generator:
    """The process-wide generator for ``device`` (all CPU devices share one)."""
    key = ("cpu", 0) if device.type == "cpu" else ("cuda", device.index)
    g = _default.get(key)
    if g is None:
        g = _default[key] = Generator(device if device.type == "cuda" else "cpu")
    return g


def manual_seed(seed: int) -> Generator:
    """Seed every default generator (CPU, and each CUDA device already in use)."""
    cpu = default_generator(_cpu())
    cpu.manual_seed(seed)
    for key, g in _default.items():
        if key[0] == "cuda":
            g.manual_seed(seed)
    return cpu


def seed() -> int:
    """Reseed the CPU generator from the OS; returns the seed."""
    return default_generator(_cpu()).seed()


def initial_seed() -> int:
    """The CPU generator's seed."""
    return default_generator(_cpu()).initial_seed()


def get_rng_state():
    """The CPU generator's state."""
    return default_generator(_cpu()).get_state()


def set_rng_state(state) -> None:
    """Restore the CPU generator's state."""
    default_generator(_cpu()).set_state(state)


def _cpu():
    from ._device import CPU

    return CPU


def rng_for(device, generator: Generator | None):
    """The NumPy/CuPy generator to draw from for ``device``."""
    if generator is None:
        return default_generator(device).rng
    if (generator.device.type == "cpu") != (device.type == "cpu"):
        raise RuntimeError(
            f"expected a generator for device type {device.type!r}, got one for {generator.device}"
        )
    return generator.rng
