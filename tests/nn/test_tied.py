"""Tied parameters (example 10): one object under two names, gradients summed over the uses."""

from __future__ import annotations

import numpy as np
import pytest

import graphlab as gl
from graphlab import nn

torch = pytest.importorskip("torch")


def _copy_linear(dst: nn.Linear, src) -> None:
    dst.weight.data = gl.tensor(src.weight.detach().numpy())
    dst.bias.data = gl.tensor(src.bias.detach().numpy())


def _nets():
    gl.manual_seed(0)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )
    torch.manual_seed(0)
    tshared = torch.nn.Linear(8, 8)
    tnet = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.ReLU(),
        tshared,
        torch.nn.ReLU(),
        tshared,
        torch.nn.ReLU(),
        torch.nn.Linear(8, 1),
    )
    for i in (0, 2, 6):
        _copy_linear(net[i], tnet[i])
    return shared, net, tnet


def test_one_tensor_not_two_equal_ones():
    shared, net, _ = _nets()
    assert net[2] is net[4] is shared
    assert (net[2].weight.data[0] == net[4].weight.data[0]).all()
    net[2].weight.data[0, 0] = 100
    assert net[4].weight.data[0, 0].item() == 100
    assert (net[2].weight.data[0] == net[4].weight.data[0]).all()


def test_listed_once_by_default_and_under_every_name_on_request():
    _, net, tnet = _nets()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert names == [n for n, _ in tnet.named_parameters()]
    assert len(list(net.parameters())) == 6
    all_names = [n for n, _ in net.named_parameters(remove_duplicate=False)]
    assert all_names == [n for n, _ in tnet.named_parameters(remove_duplicate=False)]
    assert "4.weight" in all_names
    by_name = dict(net.named_parameters(remove_duplicate=False))
    assert by_name["2.weight"] is by_name["4.weight"]
    # state_dict lists both names, sharing one storage (as PyTorch does)
    sd = net.state_dict()
    assert list(sd) == list(tnet.state_dict())
    sd["2.weight"][0, 1] = 7.0
    assert sd["4.weight"][0, 1].item() == 7.0 == net[4].weight[0, 1].item()


def test_gradient_is_the_sum_of_both_uses_and_matches_torch():
    shared, net, tnet = _nets()
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    net(gl.tensor(x)).sum().backward()
    tnet(torch.tensor(x)).sum().backward()
    for (n, p), (tn, tp) in zip(net.named_parameters(), tnet.named_parameters()):
        assert n == tn
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)

    # Each use's contribution (output grad^T @ input of that use) is visible; they sum up.
    shared.weight.grad = None
    uses = []

    def grab(m, args, out):
        out.retain_grad()
        uses.append((args[0].detach(), out))

    h = shared.register_forward_hook(grab)
    net(gl.tensor(x)).sum().backward()
    h.remove()
    assert len(uses) == 2
    per_use = [out.grad.t().mm(inp).numpy() for inp, out in uses]
    np.testing.assert_allclose(per_use[0] + per_use[1], shared.weight.grad.numpy(), rtol=1e-5)
    assert not np.allclose(per_use[0], 0) and not np.allclose(per_use[1], 0)


def test_one_sgd_step_equals_torch_and_the_untied_reference():
    shared, net, tnet = _nets()
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    params = list(net.parameters())
    net(gl.tensor(x)).pow(2).sum().backward()
    tnet(torch.tensor(x)).pow(2).sum().backward()
    with gl.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    with torch.no_grad():
        for p in tnet.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(
        shared.weight.detach().numpy(), tnet[2].weight.detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_tied_gradient_equals_untied_reference_sum():
    shared, net, _ = _nets()
    a, b = nn.Linear(8, 8), nn.Linear(8, 8)
    for m in (a, b):
        m.load_state_dict(shared.state_dict())
    untied = nn.Sequential(net[0], nn.ReLU(), a, nn.ReLU(), b, nn.ReLU(), net[6])
    x = gl.randn(6, 4)
    net(x).sum().backward()
    untied.zero_grad()
    untied(x).sum().backward()
    np.testing.assert_allclose(
        shared.weight.grad.numpy(), (a.weight.grad + b.weight.grad).numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(
        shared.bias.grad.numpy(), (a.bias.grad + b.bias.grad).numpy(), rtol=1e-5
    )


def test_load_state_dict_keeps_ties():
    shared, net, _ = _nets()
    sd = {k: v.clone() + 1 for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert net[2].weight is net[4].weight is shared.weight
    np.testing.assert_allclose(shared.weight.detach().numpy(), sd["4.weight"].numpy())
