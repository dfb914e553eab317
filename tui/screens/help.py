"""The ``?`` screen: every key binding of the app and of the view showing."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, Static

__all__ = ["HelpScreen", "binding_lines"]

_KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def _key(key: str) -> str:
    return ", ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))


def _bindings(owner) -> list[Binding]:
    out = []
    for b in owner.BINDINGS:
        out.append(b if isinstance(b, Binding) else Binding(*b))
    return out


def binding_lines(app: App, view: Widget) -> list[str]:
    """``"key  description"`` lines for the app's bindings, then the view's and its widgets'."""
    lines = ["Workbench"]
    lines += [f"  {_key(b.key):<12} {b.description}" for b in _bindings(app)]
    lines.append(f"{view.TITLE} view")
    seen = set()
    for widget in [view, *view.query("*")]:
        for b in _bindings(type(widget)):
            entry = (_key(b.key), b.description)
            if entry not in seen and b.description:
                seen.add(entry)
                lines.append(f"  {entry[0]:<12} {entry[1]}")
    lines += ["", "Mouse: click tabs, rows and tree nodes; click a table header to sort."]
    return lines


class HelpScreen(ModalScreen[None]):
    """Lists every binding; Escape or ``?`` closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
    ]

    def __init__(self, app: App, view: Widget):
        super().__init__()
        self.lines = binding_lines(app, view)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label("Keys (Esc closes)", id="help-title")
            with VerticalScroll():
                yield Static("\n".join(self.lines), id="help-text", markup=False)
