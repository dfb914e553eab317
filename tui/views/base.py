"""What every view of the workbench shares: the data it shows and the messages it sends up.

The app hands data *down* (:meth:`View.show_data`: the session, the selected model's Snapshot,
the selected pass); views send *up* messages (:class:`View.JumpToModule`,
:class:`View.PassChosen`). A view repaints only when it is visible: hidden views keep a dirty flag
and catch up when shown, so a 100,000-event trace costs nothing on the Modules screen. While the
selected model's passes are still being decoded (a big file, see :mod:`tui.app`), a view that
reads their events shows Textual's loading indicator and catches up when the app hands the
decoded data down.
"""

from __future__ import annotations

import gc
from typing import ClassVar

from textual.message import Message
from textual.widget import Widget

from graphlab.inspect.session import Session
from graphlab.inspect.snapshot import Snapshot

__all__ = ["View"]


class View(Widget):
    """Base class of the eight workbench views (one screen each)."""

    DEFAULT_CSS = """
    View { height: 1fr; }
    """
    #: the tab's title, and the number key that shows it
    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""
    #: whether :meth:`refresh_data` reads the events of the model's passes
    NEEDS_EVENTS: ClassVar[bool] = True

    class JumpToModule(Message):
        """Show module ``scope`` (a dotted path) on the Modules view."""

        def __init__(self, scope: str):
            super().__init__()
            self.scope = scope

    class PassChosen(Message):
        """Make pass ``index`` (a position in the model's traces) the selected pass."""

        def __init__(self, index: int):
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None):  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.session: Session | None = None
        self.snapshot: Snapshot | None = None
        self.trace = None
        self.pass_position: int | None = None
        self._dirty = True

    # ----- data down --------------------------------------------------------------------------
    def show_data(
        self, session: Session | None, snapshot: Snapshot | None, trace, position
    ) -> None:
        """Take the app's selection; repaint now if visible, else when next shown."""
        self.session, self.snapshot, self.trace, self.pass_position = (
            session, snapshot, trace, position,
        )  # fmt: skip
        self._dirty = True
        if self.is_mounted and self.display and self.is_on_screen:
            self._refresh_data()

    def on_show(self) -> None:
        if self._dirty:
            self._refresh_data()

    def _refresh_data(self) -> None:
        if getattr(self.app, "loading_session", False) or (
            self.NEEDS_EVENTS and not self.events_ready
        ):
            self.loading = True  # NOTE: still dirty: the app hands the data down once decoded
            return
        self._dirty = False
        self.loading = False
        self.refresh_data()
        gc.freeze()  # NOTE: what the view built stays out of full collections (see tui.app)

    @property
    def events_ready(self) -> bool:
        """Whether every pass of the selected model can be read without waiting to decode."""
        return self.snapshot is None or all(t.decoded for t in self.snapshot.traces)

    def refresh_data(self) -> None:
        """Rebuild the view from ``self.snapshot`` / ``self.trace`` (subclasses implement)."""

    # ----- the app's commands -----------------------------------------------------------------
    def search(self, text: str) -> str:
        """Search the view for ``text`` (the ``/`` key); returns a line for a notification."""
        return f"nothing to search in {self.TITLE}"

    def selection_dot(self):
        """The DOT graph of what is selected here (for ``e``), or None when nothing drawable."""
        return None

    def select_module(self, scope: str) -> None:
        """Select module ``scope`` (views that show modules override this)."""

    def focus_first(self) -> None:
        """Give the focus to the view's first focusable widget (after switching to it)."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    @property
    def is_on_screen(self) -> bool:
        """Whether this view's tab is the one showing."""
        try:
            if self.screen is not self.app.screen_stack[0]:
                return False
            if self.loading:
                # NOTE: a loading indicator covers the view, whose region is then empty.
                return all(w.display for w in self.ancestors_with_self if isinstance(w, Widget))
            return self.region.height > 0
        except Exception:  # noqa: BLE001 - not mounted yet
            return False
