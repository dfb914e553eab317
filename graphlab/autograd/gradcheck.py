"""``gradcheck``: compare autograd's Jacobian with central finite differences."""

from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients disagree."""


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()  # NOTE: CuPy arrays copy to the host


def _outputs(fn, inputs):
    from ..tensor import Tensor

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.is_floating_point()]


def gradcheck(
    fn,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
) -> bool:
    """Check the gradients of ``fn(*inputs)`` against finite differences.

    Every input that requires grad is perturbed element by element (``±eps``, in place under
    ``no_grad``); every output element's gradient is computed by autograd. Use float64 inputs:
    float32 is too coarse for ``eps=1e-6``. Returns True, or raises ``GradcheckError`` naming the
    input, the output and the worst element (``raise_exception=False`` returns False instead).
    """
    from ..tensor import Tensor
    from . import grad as autograd_grad
    from .grad_mode import no_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: expected at least one input tensor with requires_grad=True")
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings

            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; the check "
                "may fail from rounding alone",
                stacklevel=2,
            )
    outs = _outputs(fn, inputs)
    for oi, out in enumerate(outs):
        n_out = out.numel()
        # Analytical Jacobian, one backward per output element.
        analytical = {i: np.zeros((inputs[i].numel(), n_out)) for i in diff}
        if out.requires_grad:
            for k in range(n_out):
                go = np.zeros(n_out, dtype=out._data.dtype)
                go[k] = 1
                from ..creation import tensor

                g_t = tensor(go.reshape(out._data.shape), device=out.device)
                gs = autograd_grad(
                    [out], [inputs[i] for i in diff], [g_t], retain_graph=True, allow_unused=True
                )
                for i, g in zip(diff, gs):
                    if g is not None:
                        analytical[i][:, k] = _host(g._data).reshape(-1)
        # Numerical Jacobian, central differences.
        for i in diff:
            x = inputs[i]
            numerical = np.zeros_like(analytical[i])
            flat = x._data.reshape(-1)
            if not x._data.flags.c_contiguous:
                raise ValueError(f"gradcheck: input {i} is not contiguous; pass .contiguous()")
            for j in range(x.numel()):
                with no_grad():
                    orig = flat[j].item()
                    flat[j] = orig + eps
                    plus = _host(_outputs(fn, inputs)[oi]._data).astype(np.float64).reshape(-1)
                    flat[j] = orig - eps
                    minus = _host(_outputs(fn, inputs)[oi]._data).astype(np.float64).reshape(-1)
                    flat[j] = orig
                numerical[j] = (plus - minus) / (2 * eps)
            bad = ~np.isclose(analytical[i], numerical, rtol=rtol, atol=atol, equal_nan=True)
            if bad.any():
                j, k = np.argwhere(bad)[0]
                msg = (
                    f"Jacobian mismatch for output {oi} with respect to input {i}: at input "
                    f"element {j}, output element {k}: analytical {analytical[i][j, k]!r} vs "
                    f"numerical {numerical[j, k]!r} ({int(bad.sum())} of {bad.size} entries "
                    f"differ; atol={atol}, rtol={rtol})"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True
