"""The workbench: a Textual app over a :class:`~graphlab.inspect.Session`.

The app owns the selection — which model, which of its recorded passes — and hands it down to the
eight views (:mod:`tui.views`); views send messages up to change it. A session can be given
ready-made or as a ``loader`` that runs in a worker thread (opening a big file, building the
demo), so the first screen paints at once and the UI never waits on it. Passes a file loader
left undecoded (``Trace.deferred``) are decoded by that worker after the models are shown; the
views that need their events show a loading indicator meanwhile.

Memory: a 100,000-event session is millions of objects, and each full collection of Python's
cyclic garbage collector walks all of them (~250 ms on 2 cores: a frozen key press). The app
moves what exists into the collector's permanent generation (``gc.freeze()``, as big Python
services do) once a session is shown, after the passes are decoded and after a view built its
data; reference counting still frees everything, and ``gc.unfreeze()`` runs when the app exits.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from graphlab.inspect.session import Session

from .fmt import count
from .screens.error import ErrorScreen
from .screens.export import ExportScreen
from .screens.help import HelpScreen
from .views import TAB_LABELS, VIEWS, View
from .widgets.search_bar import SearchBar

__all__ = ["ModelButton", "Workbench"]


class ModelButton(Static):
    """The selected model's name; a click on its left or right half picks the previous/next."""

    def on_click(self, event) -> None:
        self.app.action_next_model(-1 if event.x < self.size.width // 2 else 1)


class Workbench(App):
    """The graphlab workbench (``graphlab``, ``graphlab tui PATH``, ``inspect.show``).

    ``session``: what to show; or ``loader``: a callable returning the Session, run in a worker.
    ``error``: ``(title, text)`` to show at start (a script that raised; the session then holds
    what it recorded before the error).
    """

    CSS_PATH = "workbench.tcss"
    TITLE = "graphlab workbench"
    BINDINGS = [
        *[
            Binding(str(i + 1), f"show_view('{tab}')", view.TITLE, show=False)
            for i, (tab, view) in enumerate(VIEWS)
        ],
        Binding("question_mark", "help", "Help"),
        Binding("slash", "search", "Search"),
        Binding("e", "export", "Export"),
        Binding("left_square_bracket", "step_pass(-1)", "Prev pass"),
        Binding("right_square_bracket", "step_pass(1)", "Next pass"),
        Binding("m", "next_model(1)", "Next model"),
        Binding("M", "next_model(-1)", "Previous model", show=False),
        Binding("q", "quit", "Quit"),
    ]

    #: position of the selected model in ``session.models``, and of the pass in its traces
    model_position: reactive[int] = reactive(0, init=False)
    pass_position: reactive[int | None] = reactive(None, init=False)

    def __init__(
        self,
        session: Session | None = None,
        *,
        loader: Callable[[], Session] | None = None,
        error: tuple[str, str] | None = None,
        title: str | None = None,
    ):
        super().__init__()
        if session is None and loader is None:
            raise ValueError("Workbench: give a session or a loader (a callable returning one)")
        self.session = session
        self._loader = loader
        #: True while the loader runs (views show a loading indicator, not "no model")
        self.loading_session = session is None
        self._start_error = error
        self.loading_error: str | None = None
        #: ``time.perf_counter()`` when the first frame had been painted, when the first frame
        #: with the session's data had, and when its deferred passes were decoded (bench/tui.py)
        self.painted_at: float | None = None
        self.shown_at: float | None = None
        self.decoded_at: float | None = None
        self._shown_event = threading.Event()
        if title:
            self.title = title

    # ----- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bar"):
            yield ModelButton("", id="model")
            yield Static("", id="status")
        with TabbedContent(id="tabs"):
            for i, (tab, view_cls) in enumerate(VIEWS):
                with TabPane(f"{i + 1} {TAB_LABELS.get(tab, view_cls.TITLE)}", id=tab):
                    yield view_cls(id=f"{tab}-view")
        yield SearchBar()
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._painted)
        if self.session is not None:
            self._session_ready(self.session)
        else:
            self.query_one("#status", Static).update("loading…")
            # NOTE: after the first paint: a loader parsing a big file holds the GIL for long
            # stretches, and the screen should be up before it starts.
            self.call_after_refresh(self._load)
        if self._start_error is not None:
            self.push_screen(ErrorScreen(*self._start_error))

    def _painted(self) -> None:
        self.painted_at = time.perf_counter()

    def _shown(self) -> None:
        self.shown_at = time.perf_counter()
        self._shown_event.set()

    def on_unmount(self) -> None:
        gc.unfreeze()  # NOTE: inspect.show() returns to the user's process: give it back as it was

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        try:
            session = self._loader()
        except Exception as exc:  # noqa: BLE001 - shown in the UI, the app stays usable
            text = "".join(traceback.format_exception(exc))
            self.call_from_thread(self._load_failed, text)
            return
        self.call_from_thread(self._session_ready, session)
        # NOTE: decoding holds the GIL in long stretches: let the models' first frame paint.
        self._shown_event.wait(timeout=5)
        self._decode(session)

    def _decode(self, session: Session) -> None:
        """Decode the session's deferred passes (in the loader's worker), the first model's
        newest first, and hand the data down again when done. A pass that cannot be decoded
        (a damaged record) is dropped from the session, and its error shown."""
        order = [t for m in session.models for t in reversed(m.traces) if not t.decoded]
        if not order:
            return
        failed: dict[int, str] = {}
        for trace in order:
            try:
                trace.events  # noqa: B018 - reading them decodes them
            except Exception as exc:  # noqa: BLE001 - shown in the UI, the app stays usable
                failed[id(trace)] = "".join(traceback.format_exception(exc))
        if failed:
            kept = dataclasses.replace(
                session,
                models=tuple(
                    dataclasses.replace(m, traces=tuple(t for t in m.traces if id(t) not in failed))
                    for m in session.models
                ),
            )
            self.call_from_thread(self._decode_failed, kept, "\n".join(failed.values()))
        else:
            self.call_from_thread(self._decoded)

    def _decoded(self) -> None:
        gc.freeze()
        self._hand_down()
        self.decoded_at = time.perf_counter()

    def _decode_failed(self, session: Session, text: str) -> None:
        self.loading_error = text
        self.session = session
        traces = self.snapshot.traces if self.snapshot is not None else ()
        position = min(self.pass_position or 0, len(traces) - 1) if traces else None
        if position == self.pass_position:
            self._hand_down()
        else:
            self.pass_position = position  # NOTE: the watcher hands the data down
        self.push_screen(
            ErrorScreen("A recorded pass could not be decoded (left out of the session)", text)
        )

    def _load_failed(self, text: str) -> None:
        self.loading_error = text
        self.loading_session = False
        self._hand_down()
        self.query_one("#status", Static).update("nothing loaded (see the error)")
        self.push_screen(ErrorScreen("Could not load the session", text))

    def _session_ready(self, session: Session) -> None:
        gc.freeze()
        self.call_after_refresh(self._shown)
        self.session = session
        self.loading_session = False
        self.sub_title = f"{session.name} ({session.source})" if session.source else session.name
        if not session.models:
            self.notify("the session holds no model (nothing was called)", severity="warning")
            self._hand_down()
            return
        self._select_model(0)
        self.active_view.focus_first()

    # ----- selection --------------------------------------------------------------------------
    @property
    def snapshot(self):
        """The selected model's Snapshot (None before loading or with no model)."""
        if self.session is None or not self.session.models:
            return None
        return self.session.models[self.model_position]

    @property
    def trace(self):
        """The selected pass (None when the model recorded none)."""
        snap = self.snapshot
        if snap is None or self.pass_position is None or not snap.traces:
            return None
        return snap.traces[self.pass_position]

    def _select_model(self, position: int) -> None:
        self.model_position = position
        traces = self.snapshot.traces
        self.pass_position = len(traces) - 1 if traces else None
        if not traces:
            self.notify(
                f"{self.snapshot.name} has no recorded pass: the Trace, Transfers and Anomalies "
                "views are empty",
                severity="warning",
            )
        self._hand_down()

    def watch_pass_position(self, old, new) -> None:
        if old != new and self.session is not None:
            self._hand_down()

    def _hand_down(self) -> None:
        trace = self.trace
        for view in self.query(View):
            view.show_data(self.session, self.snapshot, trace, self.pass_position)
        self._update_status()

    def _update_status(self) -> None:
        snap, trace = self.snapshot, self.trace
        if snap is None:
            self.query_one("#status", Static).update("no model")
            return
        n = len(self.session.models)
        self.query_one("#model", ModelButton).update(
            f"◀ {snap.name} ▶ ({self.model_position + 1}/{n})" if n > 1 else snap.name
        )
        parts = [f"{count(snap.num_parameters)} parameters"]
        if trace is None:
            parts.append("no recorded pass")
        else:
            parts.append(
                f"pass {self.pass_position + 1}/{len(snap.traces)} · {count(len(trace))} "
                f"events · level {trace.level}" + ("" if trace.decoded else " · decoding…")
            )
        self.query_one("#status", Static).update("  ·  ".join(parts))

    @on(View.PassChosen)
    def _pass_chosen(self, event: View.PassChosen) -> None:
        self.pass_position = event.index

    @on(View.JumpToModule)
    def _jump_to_module(self, event: View.JumpToModule) -> None:
        self.action_show_view("modules")
        self.query_one("#modules-view", View).select_module(event.scope)

    # ----- actions ----------------------------------------------------------------------------
    @property
    def active_view(self) -> View:
        """The view whose tab is showing."""
        tab = self.query_one("#tabs", TabbedContent).active
        return self.query_one(f"#{tab}-view", View)

    def action_show_view(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        self.active_view.focus_first()

    def action_step_pass(self, step: int) -> None:
        snap = self.snapshot
        if snap is None or not snap.traces:
            self.bell()
            return
        self.pass_position = max(0, min(len(snap.traces) - 1, (self.pass_position or 0) + step))

    def action_next_model(self, step: int = 1) -> None:
        if self.session is None or len(self.session.models) < 2:
            self.bell()
            return
        self._select_model((self.model_position + step) % len(self.session.models))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self, self.active_view))

    def action_search(self) -> None:
        self.query_one(SearchBar).open(self.active_view.TITLE)

    @on(SearchBar.Submitted)
    def _search(self, event: SearchBar.Submitted) -> None:
        view = self.active_view
        self.notify(view.search(event.text), title=f"search {view.TITLE}")

    def action_export(self) -> None:
        if self.session is None:
            self.notify("nothing to export yet", severity="warning")
            return
        self.push_screen(ExportScreen(self.session, self.snapshot, self.trace, self.active_view))

    @staticmethod
    def css_path() -> Path:
        """The stylesheet (for tools that want to read it)."""
        return Path(__file__).with_name("workbench.tcss")
