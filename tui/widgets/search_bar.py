"""The ``/`` search line: an input docked at the bottom, hidden until asked for."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

__all__ = ["SearchBar"]


class SearchBar(Input):
    """Type and press Enter to search the current view; Escape closes it."""

    DEFAULT_CSS = """
    SearchBar { dock: bottom; display: none; margin-bottom: 1; }
    SearchBar.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "close", "Close search", show=False)]

    class Submitted(Message):
        """The user searched for ``text``."""

        def __init__(self, text: str):
            super().__init__()
            self.text = text

    @property
    def focusable(self) -> bool:
        # NOTE: hidden, the bar must not take the focus (it would swallow the number keys).
        return self.has_class("-open") and super().focusable

    def open(self, where: str) -> None:
        """Show the bar (placeholder naming the view ``where``) and focus it."""
        self.placeholder = f"search {where} (Enter: search, Escape: close)"
        self.add_class("-open")
        self.call_after_refresh(self.focus)

    def action_close(self) -> None:
        self.remove_class("-open")
        self.value = ""
        self.app.active_view.focus_first()

    async def action_submit(self) -> None:
        # NOTE: our Submitted shadows Input.Submitted, which Input's own action_submit builds
        # with (input, value, validation): post the Input's message, handled just below.
        self.post_message(Input.Submitted(self, self.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = self.value.strip()
        self.action_close()
        if text:
            self.post_message(self.Submitted(text))
