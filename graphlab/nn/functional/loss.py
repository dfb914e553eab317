"""Loss functions (PyTorch's names, signatures and semantics).

Every loss takes ``reduction='mean' | 'sum' | 'none'`` (``kl_div`` also ``'batchmean'``); the
legacy ``size_average``/``reduce`` arguments are accepted and mapped as PyTorch maps them.
Class-index losses and the two binary cross-entropies are fused kernels
(:mod:`graphlab.ops.loss_ops`); the regression losses are compositions of tensor ops.
"""

from __future__ import annotations

import warnings

from ... import _dtype
from ...functions.elementwise import _float_input
from ...functions.reduction import log_softmax
from ...ops import loss_ops as L
from ...tensor import Tensor

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
]


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(name: str, reduction: str, extra: tuple[str, ...] = ()) -> str:
    allowed = ("mean", "sum", "none") + extra
    if reduction not in allowed:
        raise ValueError(
            f"{name}: {reduction!r} is not a valid value for reduction; expected one of "
            f"{', '.join(repr(r) for r in allowed)}"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor(x, name: str, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")
    return x


def _same_device(name: str, ref: Tensor, other: Tensor, what: str) -> None:
    if other.device != ref.device:
        raise RuntimeError(
            f"{name}: expected {what} on the input's device {ref.device}, got {other.device}; "
            f"move it with .to({str(ref.device)!r})"
        )


def _broadcast_target(name: str, x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's regression-loss rule: a target of another shape warns, then broadcasts."""
    t = _tensor(t, name, "target")
    _same_device(name, x, t, "target")
    if tuple(t.shape) != tuple(x.shape):
        from ...ops._util import check_broadcast

        check_broadcast(name, x.shape, t.shape)
        warnings.warn(
            f"{name}: using a target size ({tuple(t.shape)}) that is different to the input "
            f"size ({tuple(x.shape)}); this will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    if t.dtype is not x.dtype:
        dt = _dtype.result_type(x, t)
        if not dt.is_floating_point:
            dt = _dtype.get_default_dtype()
        x, t = x.to(dt), t.to(dt)
    return x, t


def _elementwise_weight(name: str, loss: Tensor, weight, x: Tensor, reduction: str, mean_by_sum):
    if weight is None:
        return _reduce(loss, reduction)
    weight = _tensor(weight, name, "weight")
    if tuple(weight.shape) != tuple(x.shape):
        raise ValueError(
            f"{name}: weight and input must have the same size, got weight "
            f"{tuple(weight.shape)} and input {tuple(x.shape)}"
        )
    loss = loss * weight
    if reduction == "mean" and mean_by_sum:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# -- class-index losses -----------------------------------------------------------------------


def _class_weight(name: str, weight, x: Tensor):
    """The ``(C,)`` class weights as a raw array of the input's dtype (a constant, as in
    PyTorch, where the weight of ``nll_loss`` gets no gradient)."""
    if weight is None:
        return None
    weight = _tensor(weight, name, "weight")
    _same_device(name, x, weight, "weight")
    c = x.shape[1] if x.ndim > 1 else x.shape[0]
    if weight.ndim != 1 or weight.shape[0] != c:
        raise RuntimeError(
            f"{name}: weight tensor should be defined either for all {c} classes or no classes, "
            f"but got weight tensor of shape {tuple(weight.shape)}"
        )
    return weight.detach().to(x.dtype)._data


def _class_index_loss(name, x, target, weight, ignore_index, smoothing, reduction, from_logits):
    if x.ndim == 0:
        raise ValueError(
            f"{name}: expected input of shape (C,) or (N, C, d1, ...), got a 0-d tensor"
        )
    target = _tensor(target, name, "target")
    _same_device(name, x, target, "target")
    if target.dtype not in (_dtype.int64, _dtype.uint8):
        hint = (
            f"; for class probabilities pass a float target of the input's shape {tuple(x.shape)}"
            if target.is_floating_point() and name == "cross_entropy"
            else ""
        )
        raise RuntimeError(
            f"{name}: expected target of class indices with dtype int64 (Long) or uint8, got "
            f"{target.dtype} with shape {tuple(target.shape)}; convert it with target.long()"
            f"{hint}"
        )
    squeeze = x.ndim == 1
    expected = () if squeeze else (x.shape[0],) + tuple(x.shape[2:])
    if tuple(target.shape) != expected:
        if not squeeze and target.ndim >= 1 and target.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name}: expected input batch_size ({x.shape[0]}) to match target batch_size "
                f"({target.shape[0]}); input shape {tuple(x.shape)}, target shape "
                f"{tuple(target.shape)}"
            )
        raise ValueError(
            f"{name}: expected target of shape {expected} (the input's shape {tuple(x.shape)} "
            f"without the class dim 1), got {tuple(target.shape)}"
        )
    w = _class_weight(name, weight, x)
    c = x.shape[0] if squeeze else x.shape[1]
    t = target._data
    all_valid = False
    if target.device.type == "cpu" and t.size:
        # NOTE: checked on the CPU only; on a GPU this would be a host sync on every step (PyTorch
        # checks there with an asynchronous device assert instead).
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= c:
            bad = (t != ignore_index) & ((t < 0) | (t >= c))
            if bad.any():
                raise IndexError(
                    f"{name}: target {int(t[bad].reshape(-1)[0])} is out of bounds: class "
                    f"indices must be in [0, {c}) for input of shape {tuple(x.shape)} (or equal "
                    f"ignore_index={ignore_index})"
                )
        else:
            # NOTE: every target is a class and none can equal ignore_index: the kernel may skip
            # its masking (the common training step).
            all_valid = not lo <= ignore_index <= hi
    if squeeze:
        x, t = x.reshape(1, c), t.reshape(1)
    out = L.ClassIndexLoss.apply(
        x,
        t,
        w,
        ignore_index=ignore_index,
        smoothing=float(smoothing),
        reduction=reduction,
        from_logits=from_logits,
        all_valid=all_valid,
    )
    return out.reshape(()) if squeeze and reduction == "none" else out


def cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` (``(C,)`` or ``(N, C, d1, ...)``) and ``target``.

    ``target`` holds class indices (int64, shape ``(N, d1, ...)``) or class probabilities (a
    float tensor of the input's shape). Computed through ``log_softmax``, so logits of 1e8 give
    finite losses and gradients. ``weight`` rescales each class, ``ignore_index`` drops targets,
    ``label_smoothing`` mixes the target with the uniform distribution.
    """
    name = "cross_entropy"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"{name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    target = _tensor(target, name, "target")
    if target.is_floating_point() and tuple(target.shape) == tuple(x.shape) and x.ndim:
        return _cross_entropy_probs(x, target, weight, reduction, label_smoothing)
    return _class_index_loss(
        name, x, target, weight, ignore_index, label_smoothing, reduction, True
    )


def _cross_entropy_probs(x, target, weight, reduction, smoothing):
    name = "cross_entropy"
    _same_device(name, x, target, "target")
    cdim = 1 if x.ndim > 1 else 0
    c = x.shape[cdim]
    t = target.to(x.dtype)
    if smoothing > 0:
        t = t * (1 - smoothing) + smoothing / c
    prod = log_softmax(x, cdim) * t
    if weight is not None:
        _class_weight(name, weight, x)  # validates shape and device
        shape = [1] * x.ndim
        shape[cdim] = c
        prod = prod * weight.to(x.dtype).reshape(shape)
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum() / (x.numel() // c)


def nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class-index targets given log-probabilities ``input``.

    ``loss_n = -weight[t_n] * input[n, t_n]``; ``'mean'`` divides by the summed weights of the
    targets that are not ``ignore_index``.
    """
    name = "nll_loss"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    return _class_index_loss(name, x, target, weight, ignore_index, 0.0, reduction, False)


# -- regression losses ------------------------------------------------------------------------


def mse_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced; an optional elementwise ``weight``
    makes ``'mean'`` a weighted mean (divided by ``weight.sum()``)."""
    name = "mse_loss"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    x, t = _broadcast_target(name, x, target)
    d = x - t
    return _elementwise_weight(name, d * d, weight, x, reduction, True)


def l1_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced (gradient 0 where they are equal)."""
    name = "l1_loss"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    x, t = _broadcast_target(name, x, target)
    return _elementwise_weight(name, (x - t).abs(), weight, x, reduction, True)


def smooth_l1_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``);
    ``beta=0`` is the L1 loss."""
    name = "smooth_l1_loss"
    if beta < 0:
        raise ValueError(f"{name}: beta must be non-negative, got {beta}")
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    x, t = _broadcast_target(name, x, target)
    d = x - t
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    from ...functions.elementwise import where

    return _reduce(where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """``0.5 d**2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``: ``delta`` times the
    smooth L1 loss with ``beta=delta``."""
    name = "huber_loss"
    if delta <= 0:
        raise ValueError(f"{name}: delta must be positive, got {delta}")
    x = _float_input(input, name)
    reduction = _check_reduction(name, reduction)
    x, t = _broadcast_target(name, x, target)
    d = x - t
    a = d.abs()
    from ...functions.elementwise import where

    loss = where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _elementwise_weight(name, loss, weight, x, reduction, False)


# -- binary and distribution losses -----------------------------------------------------------


def _binary_target(name: str, x: Tensor, target) -> Tensor:
    t = _tensor(target, name, "target")
    _same_device(name, x, t, "target")
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"{name}: target size {tuple(t.shape)} must be the same as input size {tuple(x.shape)}"
        )
    return t.to(x.dtype) if t.dtype is not x.dtype else t


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-weight * (t log(x) + (1 - t) log(1 - x))`` for probabilities ``x`` in [0, 1].

    Each log is clamped at -100 (PyTorch's choice), so ``x`` of exactly 0 or 1 gives a finite
    loss. Prefer :func:`binary_cross_entropy_with_logits` on raw scores.
    """
    name = "binary_cross_entropy"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    t = _binary_target(name, x, target)
    if x.device.type == "cpu" and x.numel():
        a = x._data
        if not ((a >= 0) & (a <= 1)).all():
            raise RuntimeError(
                f"{name}: all elements of input should be between 0 and 1, got values in "
                f"[{float(a.min())}, {float(a.max())}]; apply sigmoid first, or use "
                "binary_cross_entropy_with_logits on raw scores"
            )
    loss = L.BinaryCrossEntropy.apply(x, t)
    if weight is not None:
        loss = loss * _tensor(weight, name, "weight").to(x.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step, on raw scores ``input``.

    ``loss = -weight * (pos_weight * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x)))``,
    computed with ``softplus`` so large scores never overflow; ``pos_weight`` broadcasts over the
    last dim (one weight per class).
    """
    name = "binary_cross_entropy_with_logits"
    x = _float_input(input, name)
    reduction = _check_reduction(name, _legacy_reduction(size_average, reduce, reduction))
    t = _binary_target(name, x, target)
    pw = None
    if pos_weight is not None:
        pw = _tensor(pos_weight, name, "pos_weight").to(x.dtype)
        _same_device(name, x, pw, "pos_weight")
        from ...ops._util import check_broadcast

        check_broadcast(name, x.shape, pw.shape)
    loss = L.BinaryCrossEntropyWithLogits.apply(x, t, pw)
    if weight is not None:
        loss = loss * _tensor(weight, name, "weight").to(x.dtype)
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` given as
    log-probabilities (and ``target`` too when ``log_target=True``).

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL divergence);
    ``'mean'`` divides by the number of elements and warns, as PyTorch does.
    """
    name = "kl_div"
    x = _float_input(input, name)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    else:
        _check_reduction(name, reduction, ("batchmean",))
        if reduction == "mean":
            warnings.warn(
                "kl_div: reduction 'mean' divides the total loss by both the batch size and the "
                "support size; 'batchmean' divides only by the batch size and aligns with the KL "
                "divergence's definition",
                stacklevel=2,
            )
    t = _tensor(target, name, "target")
    _same_device(name, x, t, "target")
    if t.dtype is not x.dtype:
        t = t.to(x.dtype)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        from ...functions.elementwise import where

        # NOTE: xlogy(t, t) is 0 where t == 0 (the limit), and the inner where keeps log away
        # from 0 so neither the value nor the gradient becomes nan.
        pos = t > 0
        safe = where(pos, t, 1.0)
        loss = where(pos, t * safe.log(), 0.0) - t * x
    if reduction == "batchmean":
        s = loss.sum()
        return s / x.shape[0] if x.ndim else s
    return _reduce(loss, reduction)
