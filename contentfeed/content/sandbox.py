"""The post-template sandbox and its limits: what one rendering may build, loop and spend.

Jinja's immutable sandbox keeps templates inside; these bounds keep them small and quick, so a
marketer's template can never run away with a request or the scheduler.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import has_app_context
from jinja2 import StrictUndefined, Template, nodes
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context, pass_eval_context
from jinja2.visitor import NodeTransformer

from contentfeed.i18n import _, number_text

# What one rendering may do. A post is at most a few thousand characters of text, so these
# leave every honest template far from the edge while keeping the scheduler's work per
# seller small: the scheduler renders every variant once per seller it suggests it to.
MAX_OUTPUT_CHARS = 10_000  # stops a rendering as it writes; LinkedIn's 3,000 is checked after
MAX_VALUE_CHARS = 10_000  # the longest text or list a template may build or pass on
MAX_RANGE = 100  # numbers one range() may produce
MAX_LOOP_STEPS = 10_000  # loop iterations in one rendering, all loops together
MAX_NUMBER_BITS = 128  # whole numbers a template may compute (about 38 digits)
RENDER_SECONDS = 0.25  # one rendering, for one seller
CHECK_SECONDS = 2.0  # all the sample sellers together when a variant is saved or previewed


def count_text(n: float) -> str:
    """Say a number in the language being spoken ("10.000"); outside an app, as "10,000"."""
    return number_text(n) if has_app_context() else f"{n:,}"


class TemplateLimit(Exception):
    """A rendering went beyond what a post template may do; ``reason`` says what, briefly,
    and ``is_costly`` whether reaching the limit took time (the deadline, the loop steps).

    ``message`` is for the marketer, in the language being spoken; ``reason`` stays in
    English (the scheduler groups and keeps failures by it; variants.reason_text says it)."""

    def __init__(self, message: str, reason: str, *, is_costly: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.is_costly = is_costly


@dataclass
class Budget:
    """What is left of one rendering's allowance (time and loop steps)."""

    deadline: float
    steps: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(
                _(
                    "the template takes too long to render (more than %(seconds)s seconds for "
                    "one seller); simplify its loops and conditions.",
                    seconds=count_text(RENDER_SECONDS),
                ),
                "rendering took too long",
                is_costly=True,
            )

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise TemplateLimit(
                _(
                    "the template's loops run more than %(n)s times; nest fewer loops or loop "
                    "over less.",
                    n=count_text(MAX_LOOP_STEPS),
                ),
                "its loops run too many times",
                is_costly=True,
            )
        self.tick()


# The budget of the rendering running in this thread (or task): the sandbox hooks below have
# no other way to find it, and a context variable needs no signals, so it works in the
# scheduler's and the web server's worker threads alike.
_current: ContextVar[Budget | None] = ContextVar("post_template_budget", default=None)


def _tick() -> None:
    budget = _current.get()
    if budget is not None:
        budget.tick()


def _too_big(what: str = "a text or list") -> TemplateLimit:
    limit = count_text(MAX_VALUE_CHARS)
    if what == "a text":
        message = _("the template builds a text longer than %(n)s characters.", n=limit)
    else:
        message = _("the template builds a text or list longer than %(n)s characters.", n=limit)
    return TemplateLimit(message, "it builds too much text")


def _size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """Roughly how many characters a value becomes as text, counting shared parts each time
    they occur; stops counting past ``limit`` so measuring costs little."""
    memo: dict[int, int] = {}

    def measure(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes | bytearray):
            return len(item)
        if not isinstance(item, list | tuple | dict | set | frozenset):
            return 1
        if depth > 20:
            return limit + 1
        key = id(item)
        if key in memo:
            return memo[key]
        total = len(item)
        parts: Iterable[Any] = (
            (x for pair in item.items() for x in pair) if isinstance(item, dict) else item
        )
        for part in parts:
            total += measure(part, depth + 1)
            if total > limit:
                break
        memo[key] = total
        return total

    return measure(value, 0)


def _check_size(value: Any) -> Any:
    if _size(value) > MAX_VALUE_CHARS:
        raise _too_big()
    return value


def _huge_number() -> TemplateLimit:
    return TemplateLimit(
        _("the template computes a number too big for a post."), "it computes huge numbers"
    )


def _check_number(value: int) -> int:
    if value.bit_length() > MAX_NUMBER_BITS:
        raise _huge_number()
    return value


def _grows_too_big(operator_: str, left: int, right: int) -> bool:
    """Whether ``left * right`` or ``left ** right`` would be too big, known before computing."""
    if operator_ == "*":
        return left.bit_length() + right.bit_length() > MAX_NUMBER_BITS + 1
    if operator_ == "**":
        return abs(left) > 1 and right * left.bit_length() > MAX_NUMBER_BITS + 1
    return False


def _bounded_range(*args: int) -> range:
    """range() for post templates: a few numbers, never thousands."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimit(
            _(
                "range() may produce at most %(max)s numbers in a post template (this one "
                "asks for %(n)s).",
                max=MAX_RANGE,
                n=count_text(len(numbers)),
            ),
            f"range() beyond {MAX_RANGE} numbers",
        )
    return numbers


@pass_context
def _guard_loop(context: Context, iterable: Any) -> Iterator[Any]:
    """Wraps every ``{% for %}``: each step counts against the rendering's budget."""
    budget = _current.get()
    for item in iterable:
        if budget is not None:
            budget.step()
        yield item


@pass_context
def _guard_concat(context: Context, parts: list[Any]) -> str:
    """Stands in for ``a ~ b``: measure before joining, so nothing big is built."""
    _tick()
    total = 0
    for part in parts:
        total += _size(part)
        if total > MAX_VALUE_CHARS:
            raise _too_big("a text")
    return "".join(str(part) for part in parts)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every ``{{ ... }}`` passes here before it becomes text."""
    _tick()
    return _check_size(value)


class _Guards(NodeTransformer):
    """Route loops and ``~`` through the guards above (they compile to plain Python)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_guard_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, "_guard_concat", [], [], None, None, lineno=node.lineno)


def _guard_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    """Measure a filter's input and output; ``pass_context`` also keeps Jinja from running it
    at compile time, outside any budget."""

    passes = _PassArg.from_obj(func)

    @pass_context
    @wraps(func)
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_size(value)
        _check_size(args)
        _check_size(kwargs)
        if passes is _PassArg.context:
            args = (value, *args)
            value = context
        elif passes is _PassArg.eval_context:
            args = (value, *args)
            value = context.eval_ctx
        elif passes is _PassArg.environment:
            args = (value, *args)
            value = context.environment
        return _check_size(func(value, *args, **kwargs))

    return guarded


def _replace(value: Any, old: Any, new: Any, count: Any = None) -> Any:
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_VALUE_CHARS:
        raise _too_big("a text")
    return text.replace(old, new, count if isinstance(count, int) else -1)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    if _size(items) + len(str(d)) * len(items) > MAX_VALUE_CHARS:
        raise _too_big("a text")
    return _JINJA_JOIN(eval_ctx, items, d, attribute)


# Post text needs a handful of text filters. The ones that pad, indent, wrap or format can
# turn a short input into megabytes, so they are simply not offered.
_FILTERS = [
    *("abs", "attr", "capitalize", "count", "d", "default", "first", "float", "int", "last"),
    *("length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse"),
    *("round", "select", "selectattr", "sort", "string", "striptags", "sum", "title", "trim"),
    *("truncate", "unique", "upper", "urlencode", "wordcount"),
]
# Methods a template might call on a text that would make it huge, or format it (formatting
# accepts widths that build text of any size).
_AMPLIFYING_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "translate", "to_bytes"}
    | {"format", "format_map"}
)


class _PostSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with bounds: no big ranges, texts, numbers or loops, and a deadline."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guard_filter(self.filters[name]) for name in _FILTERS}
        self.filters["replace"] = _guard_filter(_replace)
        self.filters["join"] = _guard_filter(_join)
        self.filters["_guard_loop"] = _guard_loop
        self.filters["_guard_concat"] = _guard_concat
        self.globals.pop("lipsum", None)  # makes paragraphs of text on request
        self.globals["range"] = _bounded_range

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        guarded = _Guards().visit(tree)
        assert isinstance(guarded, nodes.Template)
        return guarded

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        """Compute ``*``, ``**``, ``+``, ``%`` and ``//`` only when the result stays small."""
        _tick()
        if operator_ == "%" and isinstance(left, str):
            raise TemplateLimit(
                _(
                    "formatting text with % isn't available in post templates; write the "
                    "text with placeholders instead."
                ),
                "it formats text with %",
            )
        numbers = isinstance(left, int) and isinstance(right, int)
        if operator_ == "*" and not numbers:
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | bytearray | list | tuple) and isinstance(
                    times, int
                ):
                    if _size(seq) * max(times, 0) > MAX_VALUE_CHARS:
                        raise _too_big()
                    return seq * times
        elif operator_ == "+" and not numbers and _size(left) + _size(right) > MAX_VALUE_CHARS:
            raise _too_big()
        elif numbers and _grows_too_big(operator_, left, right):
            raise _huge_number()
        result = _BINOPS[operator_](left, right)
        return _check_number(result) if isinstance(result, int) else result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call only what keeps the post small, within the rendering's deadline."""
        _tick()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if owner is not None and not callable(owner) and name in _AMPLIFYING_METHODS:
            raise _not_available(name)
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and abs(arg) > MAX_VALUE_CHARS:
                raise TemplateLimit(
                    _(
                        "numbers passed to a function are limited to %(n)s in post templates.",
                        n=count_text(MAX_VALUE_CHARS),
                    ),
                    "it passes huge numbers",
                )
            _check_size(arg)
        if isinstance(owner, str) and name == "replace" and len(args) >= 2:
            return _replace(owner, *args[:3])
        if isinstance(owner, str) and name == "join" and args:
            items = list(args[0])
            if _size(items) + len(owner) * len(items) > MAX_VALUE_CHARS:
                raise _too_big("a text")
            return owner.join(items)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Refuse the amplifying methods however they are reached (``|attr`` too)."""
        return attr not in _AMPLIFYING_METHODS and super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Look an attribute up within the deadline."""
        _tick()
        if attribute in _AMPLIFYING_METHODS:
            raise _not_available(attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Look an item up within the deadline."""
        _tick()
        if isinstance(argument, str) and argument in _AMPLIFYING_METHODS:
            raise _not_available(argument)
        return super().getitem(obj, argument)


def _not_available(name: str) -> TemplateLimit:
    return TemplateLimit(
        _(".%(name)s() isn't available in post templates.", name=name), f"it uses .{name}()"
    )


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "+": operator.add,
    "%": operator.mod,
    "//": operator.floordiv,
}

_JINJA_JOIN = ImmutableSandboxedEnvironment().filters["join"]

POST_SANDBOX = _PostSandbox(
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    finalize=_finalize,
)


def render_bounded(template: Template, budget: Budget, **values: Any) -> str:
    """Render through generate(), stopping as soon as the text grows past the output cap."""
    token = _current.set(budget)
    chunks = template.generate(**values)
    assert isinstance(chunks, Generator)  # mypy: generate() is typed as a plain Iterator
    try:
        parts = []
        written = 0
        for chunk in chunks:
            written += len(chunk)
            if written > MAX_OUTPUT_CHARS:
                raise TemplateLimit(
                    _(
                        "the template writes more than %(n)s characters.",
                        n=count_text(MAX_OUTPUT_CHARS),
                    ),
                    "output too long",
                )
            parts.append(chunk)
        return "".join(parts)
    finally:
        chunks.close()
        _current.reset(token)
