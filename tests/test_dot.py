"""exporters.dot / exporters.render / exporters.quoting: golden DOT text, determinism, escaping,
tied parameters, depth collapsing and ×N folding, rendering with Graphviz, missing ``dot``."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

import graphlab as gl
from exporters import dot, quoting, render
from graphlab import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "samples"))

import parameters as samples  # noqa: E402

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")

GOLDEN = r"""digraph "trace" {
    graph [rankdir=TB, fontname="Helvetica", fontsize=10]
    node [fontname="Helvetica", fontsize=10, shape=box, style=filled]
    edge [fontname="Helvetica", fontsize=9]
    n4 [shape=ellipse, style=filled, fillcolor="lightgrey", label="input\n(2, 3)\nfloat32 cpu"]
    subgraph cluster_0 {
        label="0 (Linear)"; style="rounded"; color="grey"
        n5 [shape=ellipse, style=filled, fillcolor="lightyellow", label="0.weight\n(4, 3)"]
        n6 [shape=ellipse, style=filled, fillcolor="lightyellow", label="0.bias\n(4,)"]
        n0 [fillcolor="lightblue", label="Linear"]
    }
    subgraph cluster_1 {
        label="1 (ReLU)"; style="rounded"; color="grey"
        n1 [fillcolor="lightblue", label="Relu"]
    }
    subgraph cluster_2 {
        label="2 (Linear)"; style="rounded"; color="grey"
        n7 [shape=ellipse, style=filled, fillcolor="lightyellow", label="2.weight\n(2, 4)"]
        n8 [shape=ellipse, style=filled, fillcolor="lightyellow", label="2.bias\n(2,)"]
        n2 [fillcolor="lightblue", label="Linear"]
    }
    n3 [fillcolor="lightblue", label="Sum"]
    n4 -> n0 [label="(2, 3)"]
    n5 -> n0 [label="(4, 3)"]
    n6 -> n0 [label="(4,)"]
    n0 -> n1 [label="(2, 4)"]
    n1 -> n2 [label="(2, 4)"]
    n7 -> n2 [label="(2, 4)"]
    n8 -> n2 [label="(2,)"]
    n2 -> n3 [label="(2, 2)"]
}
"""


def small_trace():
    """A fixed three-layer model, seeded, forward and backward recorded."""
    gl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with gl.record(timing=False) as tr:
        net(gl.ones(2, 3)).sum().backward()
    return net, tr


def example7_trace():
    gl.manual_seed(0)
    with gl.record(timing=False) as tr:
        rgnet, _ = samples.nested()
    return rgnet, tr


def tied_trace():
    gl.manual_seed(0)
    with gl.record(timing=False) as tr:
        net, _, _ = samples.tied()
    return net, tr


def node_labels(source: str) -> dict[str, str]:
    """node id -> its label text (as written in the DOT source)."""
    return dict(re.findall(r'^\s*(n\d+) \[.*?label="((?:[^"\\]|\\.)*)"\]$', source, re.M))


def edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(n\d+) -> (n\d+)", source, re.M)


def svg_texts(path: Path) -> list[str]:
    doc = xml.dom.minidom.parse(str(path))
    return [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]


# ----- quoting ----------------------------------------------------------------------------------
def test_quoting_doctests():
    result = doctest.testmod(quoting)
    assert result.attempted >= 8 and result.failed == 0


@pytest.mark.parametrize(
    "text", ['say "hi"', "<lambda>", "a\\b", 'x"; n0 [shape=star]; "', "&amp; <b>", "\\n"]
)
def test_quote_never_ends_the_string_early(text):
    q = quoting.quote(text)
    body = q[1:-1]
    # Every quote inside is escaped, and no trailing backslash escapes the closing quote.
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', body)


# ----- forward graphs ---------------------------------------------------------------------------
def test_golden_forward_graph():
    _, tr = small_trace()
    assert dot.trace_graph(tr, legend=False).source == GOLDEN


def test_same_model_and_input_give_identical_text():
    a = [dot.trace_graph(small_trace()[1], backward=b).source for b in (False, True)]
    b = [dot.trace_graph(small_trace()[1], backward=b).source for b in (False, True)]
    assert a == b


def test_identical_text_across_processes():
    code = (
        "import sys; sys.path.insert(0, 'tests'); from test_dot import small_trace; "
        "from exporters import dot; print(dot.trace_graph(small_trace()[1]).source)"
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outs[0] == outs[1] and "digraph" in outs[0]


def test_clusters_nest_per_module_scope():
    _, tr = example7_trace()
    src = dot.trace_graph(tr, fold=False, legend=False).source
    # 1 "0" + 4 blocks + 16 leaves + 1 final Linear = 22 module scopes, each one cluster.
    assert src.count("subgraph cluster_") == 22
    assert 'label="0.block 2.1 (ReLU)"' in src
    # Nesting: block clusters open inside the cluster of "0".
    i0 = src.index('label="0";')
    ib = src.index('label="0.block 0";')
    assert i0 < ib


def test_legend_lists_devices_and_node_kinds():
    _, tr = small_trace()
    src = dot.trace_graph(tr).source
    assert "subgraph cluster_legend" in src
    for text in ("op on cpu", "parameter", "input / constant", "folded ×N", "transfer"):
        assert f'label="{text}"' in src


def test_transfer_node_with_bytes_and_ms_and_device_colours():
    with gl.record() as tr:
        x = gl.randn(3, requires_grad=True)
        y = x.to("cpu:1") * 2
        (y.to("cpu") + 1).sum().backward()
    src = dot.trace_graph(tr).source
    labels = node_labels(src)
    moves = [n for n, t in labels.items() if t.startswith("cpu → cpu:1")]
    assert len(moves) == 1
    assert "\\n12 B\\n" in labels[moves[0]] and labels[moves[0]].endswith(" ms")
    mul = next(n for n, t in labels.items() if t == "Mul")
    assert (moves[0], mul) in edges(src)
    # Two devices: two colours in the legend.
    assert 'label="op on cpu:1"' in src and 'label="op on cpu"' in src
    assert re.search(rf'{mul} \[fillcolor="(\w+)"', src).group(1) != re.search(
        r'(n\d+) \[fillcolor="(\w+)", label="Add"', src
    ).group(2)


def test_each_transfer_feeds_the_value_it_brought():
    with gl.record() as tr:
        small, big = gl.randn(3).to("cpu:1"), gl.randn(5).to("cpu:1")
        twin = gl.randn(3).to("cpu:1")
        big * 2  # used in another order than moved: matched by device and bytes
        small * 3
        twin * 4  # the same size as `small`: the transfers are matched oldest first
    src = dot.trace_graph(tr, legend=False).source
    labels = node_labels(src)
    moves = [n for n, t in labels.items() if t.startswith("cpu → cpu:1")]
    assert [labels[n].split("\\n")[1] for n in moves] == ["12 B", "20 B", "12 B"]
    muls = [n for n, t in labels.items() if t == "Mul"]
    fed = [(moves[1], muls[0]), (moves[0], muls[1]), (moves[2], muls[2])]
    assert set(fed) <= set(edges(src))


@pytest.mark.parametrize("enabled", [True, False])
def test_export_leaves_the_garbage_collector_as_it_was(enabled, monkeypatch):
    import gc

    _, tr = small_trace()
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        dot.trace_graph(tr)
        assert gc.isenabled() is enabled
        monkeypatch.setattr(dot._Builder, "finish", lambda self: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            dot.trace_graph(tr)  # fails while the graph is being built
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# ----- escaping ---------------------------------------------------------------------------------
def weird_trace():
    net = nn.Sequential()
    net.add_module('say "hi"\\', nn.Linear(2, 2))
    lam = type("<lambda>", (nn.Module,), {"forward": lambda self, x: x * 2})
    net.add_module("<lambda>&amp;", lam())
    net.add_module('x"]; n0 -> n0; ["', nn.ReLU())
    with gl.record(timing=False) as tr:
        net(gl.ones(1, 2))
    return net, tr


def test_escaping_keeps_names_literal():
    net, tr = weird_trace()
    src = dot.trace_graph(tr).source
    assert 'label="say \\"hi\\"\\\\ (Linear)"' in src
    assert 'label="<lambda>&amp;amp; (<lambda>)"' in src
    # The injected edge text stays inside a label: only the real edges exist.
    assert ("n0", "n0") not in edges(src)
    mg = dot.module_graph(net).source
    assert edges(mg) == [("n0", "n1"), ("n0", "n2"), ("n0", "n3")]


@needs_dot
def test_escaped_names_render_literally(tmp_path):
    _, tr = weird_trace()
    out = dot.trace_graph(tr).render(tmp_path / "w.svg")
    texts = svg_texts(out)
    assert 'say "hi"\\ (Linear)' in texts
    assert "<lambda>&amp; (<lambda>)" in texts
    assert 'x"]; n0 -> n0; [" (ReLU)' in texts


# ----- tied parameters --------------------------------------------------------------------------
def test_tied_parameter_is_one_node_with_an_edge_per_use():
    _, tr = tied_trace()
    src = dot.trace_graph(tr).source
    labels = node_labels(src)
    tied = [n for n, t in labels.items() if t.startswith("2.weight = 4.weight")]
    assert len(tied) == 1
    uses = [dst for src_, dst in edges(src) if src_ == tied[0]]
    assert len(uses) == 2 and len(set(uses)) == 2
    assert all(labels[u] == "Linear" for u in uses)
    assert not any(t.startswith("4.weight") for t in labels.values())


def test_backward_graph_shows_each_use_of_a_tied_parameter():
    _, tr = tied_trace()
    src = dot.trace_graph(tr, backward=True).source
    labels = node_labels(src)
    tied = [n for n, t in labels.items() if t.startswith("2.weight = 4.weight")]
    assert len(tied) == 1 and "2 uses" in labels[tied[0]]
    contributions = re.findall(rf"(n\d+) -> {tied[0]} \[.*label=\"use at op (\d+)\\n‖g‖=", src)
    assert len(contributions) == 2
    assert {op for _, op in contributions} == {"2", "4"}
    # The total shown equals the norm of the parameter's summed gradient.
    total = re.search(r"‖Σg‖=([0-9.e+-]+)", labels[tied[0]]).group(1)
    pgs = [p for ev in tr.filter(kind="backward") for p in ev.param_grads if p.name == "2.weight"]
    import numpy as np

    expected = float(np.linalg.norm(sum(p.value.astype(np.float64) for p in pgs)))
    assert float(total) == pytest.approx(expected, rel=1e-3)


def test_backward_graph_flows_from_loss_to_parameters():
    _, tr = small_trace()
    src = dot.trace_graph(tr, backward=True, legend=False).source
    labels = node_labels(src)
    order = [labels[n] for n in sorted(labels, key=lambda n: int(n[1:]))]
    assert order[:4] == [
        "SumBackward0\\ngrad ()",
        "LinearBackward0\\ngrad (2, 2)",
        "ReluBackward0\\ngrad (2, 4)",
        "LinearBackward0\\ngrad (2, 4)",
    ]
    assert edges(src)[:2] == [("n0", "n1"), ("n1", "n2")]
    assert sum(t.startswith(("0.", "2.")) for t in labels.values()) == 4


# ----- big graphs: depth and folding ----------------------------------------------------------
def test_example7_blocks_fold_into_one_node():
    _, tr = example7_trace()
    src = dot.trace_graph(tr, legend=False).source
    labels = node_labels(src)
    folded = [t for t in labels.values() if "×4" in t]
    assert folded == ["0.block 0 … block 3  ×4\\n4 ops each"]
    assert sum(t == "Linear" for t in labels.values()) == 1  # only the last layer's op


def test_depth_collapses_modules_into_single_nodes():
    _, tr = example7_trace()
    d1 = node_labels(dot.trace_graph(tr, depth=1, fold=False, legend=False).source)
    assert [t for t in d1.values() if t.startswith("0.block")] == [
        f"0.block {i}\\n4 ops" for i in range(4)
    ]
    d0 = dot.trace_graph(tr, depth=0, fold=False, legend=False).source
    assert "subgraph cluster_" not in d0
    assert sorted(node_labels(d0).values()) == [
        "0\\n16 ops",
        "1 (Linear)\\n1 ops",
        "input\\n(2, 4)\\nfloat32 cpu",
    ]
    assert edges(d0) == [("n2", "n0"), ("n0", "n1")]


def test_folding_only_identical_blocks():
    gl.manual_seed(0)
    net = nn.Sequential(
        nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
        nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
        nn.Sequential(nn.Linear(4, 4), nn.Tanh()),  # different op: not folded
    )
    with gl.record(timing=False) as tr:
        net(gl.ones(1, 4))
    labels = node_labels(dot.trace_graph(tr, legend=False).source)
    assert [t for t in labels.values() if "×" in t] == ["0 … 1  ×2\\n2 ops each"]
    assert "Tanh" in labels.values()


def test_bad_arguments_say_what_was_expected():
    _, tr = small_trace()
    with pytest.raises(ValueError, match="depth must be None or an int >= 0, got -1"):
        dot.trace_graph(tr, depth=-1)
    with pytest.raises(TypeError, match="expected a graphlab.trace.Trace"):
        dot.trace_graph([1, 2])
    with pytest.raises(ValueError, match="format must be one of"):
        render.render("digraph {}", "x.gif", format="gif")


# ----- module graphs ----------------------------------------------------------------------------
def test_module_graph_of_model_and_snapshot_agree():
    net, _ = tied_trace()
    src = dot.module_graph(net).source
    assert src == dot.module_graph(gl.inspect.snapshot(net), name="Sequential").source
    labels = node_labels(src)
    assert labels["n0"] == "(root)\\nSequential\\n121 parameters"
    # The shared layer appears once, reached a second time by a dashed edge.
    assert 'style="dashed", label="4 (shared)"' in src
    assert sum("72 parameters" in t for t in labels.values()) == 1


def test_module_graph_depth():
    rgnet, _ = example7_trace()
    assert len(node_labels(dot.module_graph(rgnet, depth=1).source)) == 3
    assert len(node_labels(dot.module_graph(rgnet).source)) == 1 + 2 + 4 + 16


# ----- rendering --------------------------------------------------------------------------------
def all_graphs():
    _, small = small_trace()
    rg, ex7 = example7_trace()
    net, tied = tied_trace()
    _, weird = weird_trace()
    return {
        "small": dot.trace_graph(small),
        "small_backward": dot.trace_graph(small, backward=True),
        "ex7": dot.trace_graph(ex7),
        "ex7_flat": dot.trace_graph(ex7, fold=False),
        "ex7_depth1": dot.trace_graph(ex7, depth=1),
        "tied": dot.trace_graph(tied),
        "tied_backward": dot.trace_graph(tied, backward=True),
        "weird": dot.trace_graph(weird),
        "module_tied": dot.module_graph(net),
        "module_ex7": dot.module_graph(rg),
    }


@needs_dot
def test_dot_renders_every_exported_graph(tmp_path):
    for name, graph in all_graphs().items():
        out = render.render(graph.source, tmp_path / f"{name}.svg", format="svg")
        assert out.read_text().lstrip().startswith("<?xml"), name
    png = all_graphs()["small"].render(tmp_path / "small.png", format="png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_render_reports_graphviz_errors(tmp_path):
    with pytest.raises(RuntimeError, match="dot -Tsvg failed"):
        render.render("digraph { n0 -> }", tmp_path / "bad.svg")


def test_missing_dot_program_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(render.DotNotFoundError, match="apt-get install graphviz"):
        render.render("digraph {}", tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists()
