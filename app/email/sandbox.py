"""Rendering email templates in a sandbox: the code the render processes run.

Templates are written by users, so they are treated as hostile:

- Jinja2's ``ImmutableSandboxedEnvironment``: no attribute starting with ``_`` (so no
  ``''.__class__.__mro__``), no ``str.format`` escapes, no mutating methods;
- the context is plain data only (dicts, lists, strings, numbers, booleans): the API
  representation of records, never ORM objects, settings or modules;
- no loader: ``include``, ``import`` and ``extends`` fail; ``lipsum`` (an output amplifier) is
  removed from the globals;
- ``StrictUndefined``: an unknown merge field (``{{ config }}``, ``{{ contact.frist_name }}``) is
  an error, not a silent blank; null field values arrive as empty strings instead;
- output is capped at ``MAX_OUTPUT`` characters per part, the process's address space at a
  memory limit, and the parent kills a render that runs longer than its time limit (an infinite
  loop cannot be stopped from inside Python).

This module runs in a child process (``app/email/rendering.py`` starts them), so it imports
nothing from the application: only the standard library and Jinja2.
"""

from functools import lru_cache
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 1_000_000
READY = "ready"


class _NoTemplates(BaseLoader):
    def get_source(self, environment, template):
        raise TemplateNotFound(template)


class TooLarge(Exception):
    pass


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=autoescape,
        undefined=StrictUndefined,
        loader=_NoTemplates(),
        finalize=_finalize,
        auto_reload=False,
    )
    env.globals.pop("lipsum", None)
    return env


_ENVIRONMENTS = {"html": _environment(True), "text": _environment(False)}


@lru_cache(maxsize=256)
def _compiled(kind: str, source: str):
    return _ENVIRONMENTS[kind].from_string(source)


def render_part(kind: str, source: str, context: dict[str, Any]) -> str:
    out: list[str] = []
    size = 0
    for chunk in _compiled(kind, source).generate(context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TooLarge
        out.append(chunk)
    return "".join(out)


def describe(exc: BaseException) -> str:
    """A message for the template's author that says what is wrong and nothing else."""
    if isinstance(exc, TemplateSyntaxError):
        return f"Syntax error on line {exc.lineno}: {exc.message}"
    if isinstance(exc, TemplateNotFound):
        return "Templates cannot include, import or extend other templates"
    if isinstance(exc, SecurityError):
        return f"Not allowed in a template: {str(exc)[:200]}"
    if isinstance(exc, UndefinedError):
        return f"Unknown merge field: {str(exc)[:200]}"
    if isinstance(exc, TooLarge):
        return f"The rendered text is longer than {MAX_OUTPUT:,} characters"
    if isinstance(exc, MemoryError):
        return "The template needs too much memory"
    if isinstance(exc, RecursionError):
        return "The template recurses too deeply"
    return f"The template failed: {type(exc).__name__}: {str(exc)[:200]}"


def render(
    parts: dict[str, tuple[str, str | None]], contexts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Render each part (``name -> (kind, source)``) with each context. Per context either
    ``{"ok": {name: text}}`` or ``{"error": {"part": name, "message": ...}}``."""
    results: list[dict[str, Any]] = []
    for context in contexts:
        done: dict[str, str] = {}
        name = ""
        try:
            for name, (kind, source) in parts.items():
                if source is not None:
                    done[name] = render_part(kind, source, context)
        except Exception as exc:  # every failure of a user's template is reported, not raised
            results.append({"error": {"part": name, "message": describe(exc)}})
        else:
            results.append({"ok": done})
    return results


def serve(conn, memory_bytes: int) -> None:
    """The render process: answer render requests on ``conn`` until the parent goes away."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass
    conn.send(READY)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply: Any = {"results": render(request["parts"], request["contexts"])}
        except MemoryError:
            reply = {"failed": describe(MemoryError())}
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return
