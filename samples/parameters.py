"""Parameter management (examples 6–10): access, nested blocks, initialization, tied weights.

Run: ``python samples/parameters.py``.
"""

from __future__ import annotations

import graphlab as gl
from graphlab import nn


def access():
    """Example 6: reading parameters of one layer and of the whole net."""
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    X = gl.rand(2, 4)
    net(X)
    return {
        "state_dict": net[2].state_dict(),
        "bias_type": type(net[2].bias),
        "bias_data": net[2].bias.data,
        "grad_is_none": net[2].weight.grad is None,
        "names": [(name, tuple(p.shape)) for name, p in net.named_parameters()],
        "bias_from_state_dict": net.state_dict()["2.bias"].data,
    }


def block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())  # nested blocks
    return net


def nested():
    """Example 7: nested blocks print as a tree; one bias reached by indexing."""
    rgnet = nn.Sequential(block2(), nn.Linear(4, 1))
    rgnet(gl.rand(2, 4))
    return rgnet, rgnet[0][1][0].bias.data


def init_normal(m):
    if type(m) is nn.Linear:
        nn.init.normal_(m.weight, mean=0, std=0.01)
        nn.init.zeros_(m.bias)


def init_constant(m):
    if type(m) is nn.Linear:
        nn.init.constant_(m.weight, 1)
        nn.init.zeros_(m.bias)


def init_xavier(m):
    if type(m) is nn.Linear:
        nn.init.xavier_uniform_(m.weight)


def init_42(m):
    if type(m) is nn.Linear:
        nn.init.constant_(m.weight, 42)


def builtin_init():
    """Example 8: built-in initializers applied with ``net.apply``."""
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    net.apply(init_normal)
    normal = (net[0].weight.data[0].clone(), net[0].bias.data[0].item())
    net.apply(init_constant)
    constant = (net[0].weight.data[0].clone(), net[0].bias.data[0].item())
    net[0].apply(init_xavier)
    net[2].apply(init_42)
    return normal, constant, net[0].weight.data[0].clone(), net[2].weight.data.clone()


def my_init(m):
    if type(m) is nn.Linear:
        print("Init", *[(name, tuple(param.shape)) for name, param in m.named_parameters()][0])
        nn.init.uniform_(m.weight, -10, 10)
        m.weight.data *= m.weight.data.abs() >= 5


def custom_init():
    """Example 9: a custom initializer and direct edits of ``.data``."""
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    net.apply(my_init)
    drawn = net[0].weight.data.clone()
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    return drawn, net[0].weight.data.clone()


def tied():
    """Example 10: one layer used twice — one parameter, gradients summed over its uses."""
    shared = nn.Linear(8, 8)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )
    X = gl.rand(2, 4)
    net(X).sum().backward()
    same_before = bool((net[2].weight.data[0] == net[4].weight.data[0]).all())
    net[2].weight.data[0, 0] = 100
    same_after = bool((net[2].weight.data[0] == net[4].weight.data[0]).all())
    return net, same_before, same_after


def main() -> dict:
    """Run examples 6–10 and print what they show."""
    gl.manual_seed(0)
    a = access()
    print("net[2].state_dict():", a["state_dict"])
    print("type(net[2].bias):", a["bias_type"])
    print("net[2].bias.data:", a["bias_data"])
    print("net[2].weight.grad is None:", a["grad_is_none"])
    print("named_parameters:", a["names"])
    rgnet, bias = nested()
    print(rgnet)
    print("rgnet[0][1][0].bias.data:", bias)
    normal, constant, xavier, w42 = builtin_init()
    print("normal init:", normal, "\nconstant init:", constant)
    print("xavier:", xavier, "\n42:", w42)
    drawn, edited = custom_init()
    print("custom init:", drawn[:2], "\nafter edits:", edited[:2])
    net, before, after = tied()
    print("tied weights equal:", before, "and after editing one:", after)
    print("shared weight's gradient (sum of both uses):", net[2].weight.grad[0])
    return {"access": a, "nested": (rgnet, bias), "tied": (net, before, after)}


if __name__ == "__main__":
    main()
