"""``graphlab.nn``: modules, parameters, layers, losses (PyTorch's names and semantics)."""

from . import functional, init, utils
from .modules.activation import *  # noqa: F403
from .modules.attention import *  # noqa: F403
from .modules.container import *  # noqa: F403
from .modules.conv import *  # noqa: F403
from .modules.dropout import *  # noqa: F403
from .modules.flatten import *  # noqa: F403
from .modules.lazy import *  # noqa: F403
from .modules.linear import *  # noqa: F403
from .modules.loss import *  # noqa: F403
from .modules.module import *  # noqa: F403
from .modules.normalization import *  # noqa: F403
from .modules.pooling import *  # noqa: F403
from .modules.rnn import *  # noqa: F403
from .modules.sparse import *  # noqa: F403
from .parameter import *  # noqa: F403
