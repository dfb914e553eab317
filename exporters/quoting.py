"""DOT quoting in one place: every user-controlled string goes through :func:`quote`.

Node ids are never user text (they are sequential ``n0``, ``n1``, …); names, op names, shapes and
labels are written as DOT double-quoted strings, so quotes, backslashes, ``<lambda>`` and HTML
characters can neither end the string early nor start an HTML label.

>>> quote('block "a"')
'"block \\\\"a\\\\""'
>>> quote("<lambda>")
'"<lambda>"'
>>> quote("a &amp; b")
'"a &amp;amp; b"'
>>> quote("a\\\\b")
'"a\\\\\\\\b"'
>>> label("Linear", "scope <lambda>")
'"Linear\\\\nscope <lambda>"'
"""

from __future__ import annotations

__all__ = ["escape", "label", "quote"]

# NOTE: in a DOT quoted string `"` and `\` are special (`\n`, `\l`, `\N`… are escapes the
# renderer expands), and Graphviz also expands HTML entities (`&amp;` shows as `&`). Doubling
# backslashes, escaping quotes and writing `&` as `&amp;` makes the text literal.
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "&": "&amp;", "\n": "\\n", "\r": "", "\0": ""})


def escape(text: object) -> str:
    """The text of ``str(text)`` made literal inside a DOT double-quoted string (no quotes added).

    >>> escape('say "hi"')
    'say \\\\"hi\\\\"'
    """
    return str(text).translate(_ESCAPES)


def quote(text: object) -> str:
    """``str(text)`` as a DOT double-quoted string that shows exactly that text.

    >>> quote("x")
    '"x"'
    >>> quote('"; node [shape=box]; "')
    '"\\\\"; node [shape=box]; \\\\""'
    """
    return f'"{escape(text)}"'


def label(*lines: object) -> str:
    """Several lines of text as one quoted DOT label (lines joined by the ``\\n`` escape).

    >>> label("a", "b")
    '"a\\\\nb"'
    """
    return '"' + "\\n".join(escape(line) for line in lines) + '"'
