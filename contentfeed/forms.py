"""Form pieces every domain's forms share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from contentfeed.text import control_problem


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _refuse_control_characters(multiline: bool) -> Callable[[Any], Any]:
    """A field filter: WTForms shows a filter's ValueError beside its field."""

    def check(value: Any) -> Any:
        texts = value if isinstance(value, list | tuple) else [value]
        for text in texts:
            problem = isinstance(text, str) and control_problem(text, multiline=multiline)
            if problem:
                raise ValueError(problem[:1].upper() + problem[1:] + ".")
        return value

    return check


class Form(FlaskForm):
    """The base of every web form: CSRF, and no text field takes control characters.

    A NUL cannot be stored in PostgreSQL and no person types one; multi-line fields (text
    areas) may hold tabs and line breaks.
    """

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            multiline = issubclass(unbound_field.field_class, TextAreaField)
            filters = [
                *unbound_field.kwargs.get("filters", ()),
                _refuse_control_characters(multiline),
            ]
            return unbound_field.bind(form=form, **{**options, "filters": filters})


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
