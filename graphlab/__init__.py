"""graphlab: a dynamic-graph autograd engine with a PyTorch-shaped API, on NumPy and CuPy.

``import graphlab as gl`` and use it as you would ``torch``: ``gl.tensor``, ``gl.randn``,
``x.backward()``, ``gl.no_grad()``, ``gl.device("cuda")``. See the README's API section.
"""

from __future__ import annotations

from . import (
    _methods,  # noqa: F401 - binds Tensor methods and operators
    autograd,
    cuda,
    transfer,
)
from ._device import device
from ._dtype import (
    bool_ as bool,  # noqa: A004 - PyTorch's name
)
from ._dtype import (
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from ._format import set_printoptions
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions.elementwise import (
    abs,  # noqa: A004
    add,
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clamp,
    clip,
    cos,
    div,
    eq,
    equal,
    exp,
    floor_divide,
    fmod,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    nonzero,
    pow,  # noqa: A004
    relu,
    remainder,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    sub,
    tanh,
    true_divide,
    where,
)
from .functions.indexing import gather, index_select, masked_fill, scatter_add
from .functions.linalg import bmm, dot, matmul, mm, mv, outer
from .functions.reduction import (
    all,  # noqa: A004
    amax,
    amin,
    any,  # noqa: A004
    argmax,
    argmin,
    log_softmax,
    logsumexp,
    max,  # noqa: A004
    mean,
    min,  # noqa: A004
    norm,
    prod,
    softmax,
    std,
    sum,  # noqa: A004
    var,
)
from .functions.shaping import (
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    flatten,
    flip,
    movedim,
    narrow,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    t,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
)
from .functions.shaping import (
    repeat as _repeat,  # noqa: F401 - Tensor.repeat only, as in PyTorch
)
from .random import Generator, initial_seed, manual_seed, seed
from .serialization import SerializationError, load, save
from .tensor import Size, Tensor

FloatTensor = DoubleTensor = LongTensor = None  # NOTE: use graphlab.tensor(..., dtype=...)
del FloatTensor, DoubleTensor, LongTensor

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a graphlab Tensor."""
    return isinstance(obj, Tensor)


def numel(input) -> int:  # noqa: A002
    """The number of elements of ``input``."""
    return input.numel()


# NOTE: graphlab.inspect is the inspector; inside graphlab use `import inspect as _pyinspect`.
# NOTE: trace comes after nn in this list: the recorder hooks into module calls.
from . import (  # noqa: E402 - submodules using names above
    inspect,
    jit,
    metrics,
    nn,
    optim,
    trace,
    utils,
)
from .trace import last_trace, record, set_trace_options, traces  # noqa: E402

trace.recorder.start()  # NOTE: always-on recording (GRAPHLAB_TRACE=0 starts it disabled)
