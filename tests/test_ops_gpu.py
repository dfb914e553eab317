"""Every op of the shared table on CUDA (CuPy) against the NumPy backend, forward and backward,
in float32 and float64. Marked ``gpu``: tests/conftest.py skips them without CuPy and a GPU.

Inputs are made on the CPU and moved with ``.to("cuda")`` (leaves there); results come back with
``.cpu().numpy()``. Values and gradients must agree within 1e-5 in float32 and 1e-6/1e-5 in
float64, with the same shapes and dtypes, and every output and gradient must live on the GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_cases import ALL_CASES, as_list, case_params, run

import graphlab as gl

pytestmark = pytest.mark.gpu


def _tols(dtype):
    return (1e-6, 1e-6) if dtype == np.float64 else (1e-5, 1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("device", ["cuda"])
@pytest.mark.parametrize("case", case_params())
def test_op_on_gpu_matches_numpy_backend(case, device, dtype):
    c_vals, c_dtypes, c_grads, c_ndiff = run(gl, case, dtype)
    g_vals, g_dtypes, g_grads, g_ndiff = run(gl, case, dtype, device=device)
    assert len(g_vals) == len(c_vals)
    rtol, atol = _tols(dtype)
    for k, (g, c) in enumerate(zip(g_vals, c_vals)):
        assert g_dtypes[k] is c_dtypes[k], f"output {k}: {g_dtypes[k]} vs {c_dtypes[k]}"
        assert g.shape == c.shape, f"output {k}: shape {g.shape} vs {c.shape}"
        if g.dtype.kind in "iub":
            np.testing.assert_array_equal(g, c, err_msg=f"output {k}")
        else:
            np.testing.assert_allclose(g, c, rtol=rtol, atol=atol, err_msg=f"output {k}")
    assert g_ndiff == c_ndiff
    for k, (g, c) in enumerate(zip(g_grads, c_grads)):
        assert (g is None) == (c is None), f"grad of input {k}"
        if c is not None:
            assert g.shape == c.shape and g.dtype == c.dtype, f"grad of input {k}"
            np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-5, err_msg=f"grad of input {k}")


@pytest.mark.parametrize("case", case_params([c for c in ALL_CASES if c.name != "floordiv"][:40]))
def test_outputs_and_grads_stay_on_the_gpu(case):
    arrays = case.arrays()
    grads = case.grad_inputs(arrays)
    xs = []
    for i, a in enumerate(arrays):
        t = gl.tensor(a.copy()).to("cuda")
        xs.append(t.requires_grad_(True) if i in grads else t)
    outs = as_list(case.fn(gl, *xs))
    for o in outs:
        assert o.device.type == "cuda"
    diff = [o for o in outs if o.requires_grad]
    if diff:
        gl.autograd.backward(diff, [gl.ones_like(o) for o in diff])
        for i in grads:
            if xs[i].grad is not None:
                assert xs[i].grad.device.type == "cuda"


def test_log_softmax_of_1e8_logits_on_gpu_is_finite():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 10)) * 1e8
    for dtype in (gl.float32, gl.float64):
        x = gl.tensor(logits, dtype=dtype).to("cuda").requires_grad_()
        out = gl.log_softmax(x, 1)
        cpu = gl.log_softmax(gl.tensor(logits, dtype=dtype), 1)
        assert bool(gl.isfinite(out).all())
        np.testing.assert_allclose(out.detach().cpu().numpy(), cpu.numpy(), rtol=1e-5)
        out[
            gl.arange(6, device="cuda"), gl.tensor(rng.integers(0, 10, 6)).to("cuda")
        ].sum().backward()
        assert np.isfinite(x.grad.cpu().numpy()).all()


def test_gradcheck_on_gpu_in_float64():
    rng = np.random.default_rng(4)
    a = gl.tensor(rng.standard_normal((3, 4))).to("cuda").requires_grad_()
    b = gl.tensor(rng.standard_normal((4, 2))).to("cuda").requires_grad_()
    assert gl.autograd.gradcheck(lambda a, b: gl.softmax(a @ b, 1).sum(0), (a, b))
    assert gl.autograd.gradcheck(lambda a: a[gl.tensor([0, 0, 2]).to("cuda")].prod(1), (a,))
