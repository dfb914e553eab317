"""A modal error screen: what went wrong (a script's traceback, a bad file), then back to work."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

__all__ = ["ErrorScreen"]


class ErrorScreen(ModalScreen[None]):
    """Shows ``title`` and ``text`` (e.g. a traceback); Escape, Enter or the button closes it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close")]

    def __init__(self, title: str, text: str):
        super().__init__()
        self.error_title = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label(self.error_title, id="error-title")
            with VerticalScroll():
                yield Static(self.text, id="error-text", markup=False)
            yield Button("Close (Esc)", id="error-close", variant="error")

    def on_button_pressed(self) -> None:
        self.dismiss()
