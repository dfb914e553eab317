"""The ``e`` screen: write the session (HDF5), the selected pass or the view's selection (DOT/SVG).

Nothing is written until the user presses Export. Writing runs in a worker thread; the result (or
the error) comes back as a notification and the screen closes only on success.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

__all__ = ["ExportScreen", "export_choices"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "graphlab"


def export_choices(session, snapshot, trace, view) -> list[tuple[str, str, Callable]]:
    """``(label, default file name, write(path) -> str)`` for what can be exported now."""
    choices: list[tuple[str, str, Callable]] = []

    def save_session(path: str) -> str:
        from exporters.session import save_session

        save_session(session, path)
        return f"wrote session {session.name!r} ({len(session.models)} models) to {path}"

    choices.append(("Session (HDF5)", f"{_safe(session.name)}.h5", save_session))
    if snapshot is not None:

        def save_model(path: str) -> str:
            from exporters import hdf5

            hdf5.save(snapshot, path)
            return f"wrote model {snapshot.name!r} to {path}"

        choices.append(("Model (HDF5)", f"{_safe(snapshot.name)}.h5", save_model))

        def save_modules(path: str) -> str:
            from exporters import dot

            dot.module_graph(snapshot).save(path)
            return f"wrote the module graph of {snapshot.name!r} to {path}"

        choices.append(("Module graph (DOT)", f"{_safe(snapshot.name)}-modules.dot", save_modules))
    if trace is not None:
        for fmt in ("dot", "svg"):

            def save_pass(path: str, fmt: str = fmt) -> str:
                from exporters import dot

                graph = dot.trace_graph(trace, name=_safe(snapshot.name))
                if fmt == "dot":
                    graph.save(path)
                else:
                    graph.render(path, format=fmt)
                return f"wrote the pass graph ({len(trace.events)} events) to {path}"

            choices.append((f"Pass graph ({fmt.upper()})", f"pass-{trace.index}.{fmt}", save_pass))
    selection = view.selection_dot() if view is not None else None
    if selection is not None:
        for fmt in ("dot", "svg"):

            def save_selection(path: str, fmt: str = fmt) -> str:
                if fmt == "dot":
                    selection.save(path)
                else:
                    selection.render(path, format=fmt)
                return f"wrote the {view.TITLE} selection to {path}"

            choices.append(
                (f"{view.TITLE} selection ({fmt.upper()})", f"selection.{fmt}", save_selection)
            )
    return choices


class ExportScreen(ModalScreen[str | None]):
    """Choose what to write and where; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, session, snapshot, trace, view, folder: str | Path = "."):
        super().__init__()
        self.choices = export_choices(session, snapshot, trace, view)
        self.folder = Path(folder)

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export (nothing is written until you press Export)", id="export-title")
            with RadioSet(id="export-what"):
                for i, (label, _, _) in enumerate(self.choices):
                    yield RadioButton(label, value=i == 0)
            yield Input(str(self.folder / self.choices[0][1]), id="export-path")
            with Horizontal(id="export-buttons"):
                yield Button("Export", id="export-go", variant="primary")
                yield Button("Cancel (Esc)", id="export-cancel")

    @property
    def chosen(self) -> int:
        index = self.query_one(RadioSet).pressed_index
        return max(index, 0)

    @on(RadioSet.Changed)
    def _changed(self, event: RadioSet.Changed) -> None:
        self.query_one("#export-path", Input).value = str(
            self.folder / self.choices[event.index][1]
        )

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#export-go")
    @on(Input.Submitted, "#export-path")
    def _go(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.notify("give a file name", severity="error")
            return
        self.query_one("#export-go", Button).disabled = True
        self._write(self.choices[self.chosen][2], path)

    @work(thread=True, exclusive=True, group="export")
    def _write(self, write: Callable[[str], str], path: str) -> None:
        try:
            message = write(path)
        except Exception as exc:  # noqa: BLE001 - reported in the UI; nothing half-written
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._done, message)

    def _failed(self, message: str) -> None:
        self.query_one("#export-go", Button).disabled = False
        self.notify(message, title="export failed", severity="error", timeout=10)

    def _done(self, message: str) -> None:
        self.notify(message, title="exported")
        self.dismiss(message)
