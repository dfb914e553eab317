"""Classification metrics: accuracy, precision, recall, F1, confusion matrix, top-k accuracy.

Names, argument order (``y_true`` first) and semantics follow scikit-learn's ``accuracy_score``,
``precision_score``, ``recall_score``, ``f1_score``, ``confusion_matrix`` and
``top_k_accuracy_score``. Inputs are graphlab tensors of class labels (NumPy arrays and lists
work too); ``accuracy`` also takes scores of shape ``(N, C)`` and uses their argmax. Results are
Python floats (a list per class with ``average=None``), and the confusion matrix is an int64
tensor on the CPU. Each tensor input is read to the host once (a recorded sync on a GPU).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from . import transfer
from .creation import from_numpy
from .tensor import Tensor

__all__ = [
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_fscore",
    "confusion_matrix",
    "top_k_accuracy",
]

_AVERAGES = ("binary", "micro", "macro", "weighted", None)


def _host(x, fn: str, what: str) -> np.ndarray:
    """``x`` as a NumPy array (a tensor is read once through ``transfer.host_read``)."""
    if isinstance(x, Tensor):
        return np.asarray(transfer.host_read(x.detach()._data, x.device, f"metrics.{fn}"))
    if isinstance(x, (np.ndarray, Sequence)) and not isinstance(x, (str, bytes)):
        return np.asarray(x)
    raise TypeError(
        f"{fn}: {what} must be a graphlab Tensor (or a NumPy array / list), got {type(x).__name__}"
    )


def _labels_pair(y_true, y_pred, fn: str) -> tuple[np.ndarray, np.ndarray]:
    t = _host(y_true, fn, "y_true")
    p = _host(y_pred, fn, "y_pred")
    if p.ndim == t.ndim + 1 and p.dtype.kind == "f":
        raise ValueError(
            f"{fn}: y_pred has shape {p.shape} (scores?) but y_true has shape {t.shape}; pass "
            "predicted class labels, e.g. logits.argmax(dim=1)"
        )
    if t.shape != p.shape:
        raise ValueError(
            f"{fn}: y_true and y_pred must have the same shape, got {t.shape} and {p.shape}"
        )
    if t.ndim != 1:
        t, p = t.reshape(-1), p.reshape(-1)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.dtype.kind == "f" and a.size and not np.all(a == np.round(a)):
            raise ValueError(
                f"{fn}: {name} holds non-integer floats; pass class labels (e.g. "
                "probs.argmax(dim=1), or (probs > 0.5).long() for binary scores)"
            )
    return t, p


def accuracy(y_true, y_pred, *, normalize: bool = True) -> float:
    """The fraction (or, with ``normalize=False``, the number) of correct predictions.

    ``y_pred`` holds class labels shaped like ``y_true``, or scores of shape ``(N, C)`` for
    labels of shape ``(N,)`` (their argmax over dim 1 is the prediction).
    """
    t = _host(y_true, "accuracy", "y_true")
    p = _host(y_pred, "accuracy", "y_pred")
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=1)
    if t.shape != p.shape:
        raise ValueError(
            f"accuracy: y_pred must have y_true's shape {t.shape} (labels) or one more "
            f"dimension of class scores, got {p.shape}"
        )
    if t.size == 0:
        raise ValueError("accuracy: got no samples (empty y_true)")
    correct = int(np.count_nonzero(t == p))
    return correct / t.size if normalize else float(correct)


def confusion_matrix(y_true, y_pred, *, labels=None, normalize: str | None = None) -> Tensor:
    """The ``(C, C)`` matrix whose entry ``[i, j]`` counts samples of true class ``labels[i]``
    predicted as ``labels[j]``.

    ``labels`` fixes the classes and their order (default: the sorted labels seen in either
    input); ``normalize='true'|'pred'|'all'`` divides by row sums, column sums or the total.
    """
    t, p = _labels_pair(y_true, y_pred, "confusion_matrix")
    lab = _label_set(t, p, labels, "confusion_matrix")
    m = _counts(t, p, lab)
    if normalize is None:
        return from_numpy(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        if normalize == "true":
            out = m / m.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            out = m / m.sum(axis=0, keepdims=True)
        elif normalize == "all":
            out = m / m.sum()
        else:
            raise ValueError(
                f"confusion_matrix: normalize must be 'true', 'pred', 'all' or None, got "
                f"{normalize!r}"
            )
    return from_numpy(np.nan_to_num(out))


def _label_set(t: np.ndarray, p: np.ndarray, labels, fn: str) -> np.ndarray:
    if labels is None:
        return np.union1d(t, p)
    lab = np.asarray(_host(labels, fn, "labels") if isinstance(labels, Tensor) else list(labels))
    if lab.size == 0:
        raise ValueError(f"{fn}: labels must list at least one class")
    if np.unique(lab).size != lab.size:
        raise ValueError(f"{fn}: labels must not repeat a class, got {lab.tolist()}")
    return lab


def _counts(t: np.ndarray, p: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Confusion counts over ``lab`` (samples whose labels are not in ``lab`` are ignored)."""
    order = np.argsort(lab, kind="stable")
    sorted_lab = lab[order]
    n = lab.size

    def position(a):
        i = np.searchsorted(sorted_lab, a)
        i = np.clip(i, 0, n - 1)
        ok = sorted_lab[i] == a
        return order[i], ok

    ti, tok = position(t)
    pi, pok = position(p)
    keep = tok & pok
    flat = ti[keep] * n + pi[keep]
    return np.bincount(flat, minlength=n * n).reshape(n, n).astype(np.int64)


def _divide(num: np.ndarray, den: np.ndarray, zero_division, metric: str) -> np.ndarray:
    """``num / den`` with ``zero_division`` where ``den == 0`` (warning when it is 'warn')."""
    out = np.zeros(num.shape, dtype=np.float64)
    ok = den != 0
    out[ok] = num[ok] / den[ok]
    if not ok.all():
        if zero_division == "warn":
            missing = {"Precision": "predicted", "Recall": "true"}.get(metric, "true nor predicted")
            warnings.warn(
                f"{metric} is ill-defined and being set to 0.0 for labels with no {missing} "
                "samples; use zero_division to control this behaviour",
                UserWarning,
                stacklevel=4,
            )
            fill = 0.0
        else:
            fill = float(zero_division)
        out[~ok] = fill
    return out


def precision_recall_fscore(
    y_true,
    y_pred,
    *,
    average: str | None = "binary",
    pos_label=1,
    labels=None,
    zero_division="warn",
    beta: float = 1.0,
) -> tuple:
    """Precision, recall and F-beta together (sklearn's ``precision_recall_fscore_support``
    without the support): floats, or lists of per-class floats with ``average=None``."""
    fn = "precision_recall_fscore"
    if average not in _AVERAGES:
        raise ValueError(f"{fn}: average must be one of {list(_AVERAGES)}, got {average!r}")
    if not (zero_division == "warn" or zero_division in (0, 1) or np.isnan(zero_division)):
        raise ValueError(f"{fn}: zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")
    t, p = _labels_pair(y_true, y_pred, fn)
    present = np.union1d(t, p)
    if average == "binary":
        if present.size > 2:
            raise ValueError(
                f"{fn}: target is multiclass ({present.size} labels: {present.tolist()}) but "
                "average='binary'; choose average='micro', 'macro', 'weighted' or None"
            )
        if present.size == 2 and pos_label not in present.tolist():
            raise ValueError(
                f"{fn}: pos_label={pos_label!r} is not a valid label; it should be one of "
                f"{present.tolist()}"
            )
        lab = np.asarray([pos_label])
    else:
        lab = _label_set(t, p, labels, fn)
    # NOTE: counts over every label seen (and asked for), so a sample whose true class is
    # outside ``labels`` still counts as a false positive of its predicted class.
    full = np.union1d(present, lab)
    m = _counts(t, p, full)
    pick = np.searchsorted(full, lab)
    tp = np.diag(m)[pick].astype(np.float64)
    pred_pos = m.sum(axis=0)[pick].astype(np.float64)
    true_pos = m.sum(axis=1)[pick].astype(np.float64)
    if average == "micro":
        tp, pred_pos, true_pos = (np.array([a.sum()]) for a in (tp, pred_pos, true_pos))
    prec = _divide(tp, pred_pos, zero_division, "Precision")
    rec = _divide(tp, true_pos, zero_division, "Recall")
    b2 = beta * beta
    # NOTE: F from the counts (sklearn >= 1.3): (1 + b2) tp / ((1 + b2) tp + b2 fn + fp), so a
    # class that is never predicted nor present follows zero_division, not 0/0.
    denom = (1 + b2) * tp + b2 * (true_pos - tp) + (pred_pos - tp)
    f = _divide((1 + b2) * tp, denom, zero_division, "F-score")
    if average == "weighted":
        w = true_pos
        if w.sum() == 0:
            zd = 0.0 if zero_division == "warn" else float(zero_division)
            return zd, zd, zd
        return tuple(float(np.average(a, weights=w)) for a in (prec, rec, f))
    if average is None:
        return prec.tolist(), rec.tolist(), f.tolist()
    return tuple(float(a.mean()) for a in (prec, rec, f))


def precision(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division="warn"):
    """Precision ``tp / (tp + fp)``: of the samples predicted as a class, the fraction that
    are. ``average``: ``'binary'`` (the ``pos_label`` class only), ``'micro'`` (global
    counts), ``'macro'`` (unweighted mean over classes), ``'weighted'`` (mean weighted by each
    class's true count), ``None`` (a list per class)."""
    return precision_recall_fscore(
        y_true,
        y_pred,
        average=average,
        pos_label=pos_label,
        labels=labels,
        zero_division=zero_division,
    )[0]


def recall(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division="warn"):
    """Recall ``tp / (tp + fn)``: of the samples of a class, the fraction predicted as it.
    ``average`` as for :func:`precision`."""
    return precision_recall_fscore(
        y_true,
        y_pred,
        average=average,
        pos_label=pos_label,
        labels=labels,
        zero_division=zero_division,
    )[1]


def f1_score(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division="warn"):
    """F1, the harmonic mean of precision and recall ``2 tp / (2 tp + fp + fn)``. ``average``
    as for :func:`precision` (``'macro'`` averages the per-class F1 values)."""
    return precision_recall_fscore(
        y_true,
        y_pred,
        average=average,
        pos_label=pos_label,
        labels=labels,
        zero_division=zero_division,
    )[2]


def top_k_accuracy(y_true, y_score, k: int = 2, *, normalize: bool = True) -> float:
    """The fraction of samples whose true class is among the ``k`` highest of ``y_score``.

    ``y_true`` holds class indices ``0..C-1`` of shape ``(N,)``; ``y_score`` holds logits or
    probabilities of shape ``(N, C)``. Ties rank the higher class index first (as sklearn).
    """
    t = _host(y_true, "top_k_accuracy", "y_true")
    s = _host(y_score, "top_k_accuracy", "y_score")
    if s.ndim != 2 or t.ndim != 1 or s.shape[0] != t.shape[0]:
        raise ValueError(
            f"top_k_accuracy: expected y_true of shape (N,) and y_score of shape (N, C), got "
            f"{t.shape} and {s.shape}"
        )
    n, c = s.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k_accuracy: k must be a positive int, got {k!r}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ValueError(
            f"top_k_accuracy: y_true must hold class indices in [0, {c}), got values from "
            f"{t.min()} to {t.max()}"
        )
    if k >= c:
        warnings.warn(
            f"top_k_accuracy: k={k} >= n_classes={c} makes every prediction correct",
            UserWarning,
            stacklevel=2,
        )
    top = np.argsort(s, axis=1, kind="mergesort")[:, ::-1][:, :k]
    hits = int(np.count_nonzero((top == t[:, None]).any(axis=1)))
    if n == 0:
        raise ValueError("top_k_accuracy: got no samples (empty y_true)")
    return hits / n if normalize else float(hits)
