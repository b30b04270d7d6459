"""The report charts: SVG drawn on the server, readable without colour, placed to scale."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from contentfeed.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(5)]


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 -- our own output


def _series(svg: ET.Element) -> list[ET.Element]:
    """The plotted series' groups (the legend draws one small group per series first)."""
    groups = [g for g in svg.iter(f"{SVG}g") if "chart__series" in g.get("class", "")]
    return [g for g in groups if g.find(f"{SVG}polyline") is not None]


def _points(group: ET.Element) -> list[tuple[float, float]]:
    line = group.find(f"{SVG}polyline")
    assert line is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


def _two_series() -> ET.Element:
    return _parse(
        charts.line_chart(
            DAYS,
            [
                charts.Series("Clicks", [0, 10, 40, 20, 80], "left", "solid"),
                charts.Series("Leads", [0, 1, 0, 2, 4], "right", "dashed"),
            ],
            title="Clicks and leads per day",
            description="Clicks (solid, left) and leads (dashed, right).",
        )
    )


def test_a_line_chart_is_an_accessible_image_with_title_and_description() -> None:
    svg = _two_series()
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Clicks and leads per day"
    assert svg.findtext(f"{SVG}title") == "Clicks and leads per day"
    assert svg.findtext(f"{SVG}desc") == "Clicks (solid, left) and leads (dashed, right)."


def test_series_differ_by_line_and_marker_not_only_colour() -> None:
    svg = _two_series()
    clicks, leads = _series(svg)
    assert "is-solid" in clicks.get("class", "")
    assert "is-dashed" in leads.get("class", "")
    # Circles on one line, squares on the other: one per day while the days stay apart.
    assert len(clicks.findall(f"{SVG}circle")) == 5
    assert not clicks.findall(f"{SVG}rect")
    assert len(leads.findall(f"{SVG}rect")) == 5
    assert not leads.findall(f"{SVG}circle")
    # The legend names each series with the axis it reads against.
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Clicks (left)" in texts
    assert "Leads (right)" in texts


def test_points_sit_at_their_values_on_their_own_axis() -> None:
    svg = _two_series()
    clicks, leads = _series(svg)
    ticks = [t for t in svg.iter(f"{SVG}text") if "chart__tick" in t.get("class", "")]
    left_x = min(float(t.get("x", 0)) for t in ticks)
    right_x = max(float(t.get("x", 0)) for t in ticks)
    left = {t.text: float(t.get("y", 0)) - 4 for t in ticks if float(t.get("x", 0)) == left_x}
    right = {t.text: float(t.get("y", 0)) - 4 for t in ticks if float(t.get("x", 0)) == right_x}
    # Left axis 0-80 in steps of 20 (clicks top out at 80); right axis 0-4 (leads top at 4).
    assert list(left) == ["0", "20", "40", "60", "80"]
    assert list(right) == ["0", "1", "2", "3", "4"]
    click_y = [y for _x, y in _points(clicks)]
    lead_y = [y for _x, y in _points(leads)]
    assert click_y[0] == pytest.approx(left["0"])
    assert click_y[2] == pytest.approx(left["40"])
    assert click_y[4] == pytest.approx(left["80"])
    assert lead_y[3] == pytest.approx(right["2"])
    assert lead_y[4] == pytest.approx(right["4"])
    # Days run left to right, evenly.
    xs = [x for x, _y in _points(clicks)]
    steps = {round(b - a, 1) for a, b in itertools.pairwise(xs)}
    assert len(steps) == 1
    assert steps.pop() > 0


def test_no_text_is_drawn_over_the_plotted_lines() -> None:
    """Names live in the legend above the plot, not at the ends of the lines where they
    collided with the data and the right axis."""
    svg = _two_series()
    top_of_plot = min(y for g in _series(svg) for _x, y in _points(g))
    plot_left = min(x for g in _series(svg) for x, _y in _points(g))
    plot_right = max(x for g in _series(svg) for x, _y in _points(g))
    for text in svg.iter(f"{SVG}text"):
        x, y = float(text.get("x", 0)), float(text.get("y", 0))
        inside = plot_left < x < plot_right and top_of_plot < y
        is_x_label = y > max(y for g in _series(svg) for _x, y in _points(g))
        assert not inside or is_x_label, f"{text.text!r} is drawn inside the plot"


def test_x_axis_labels_the_first_and_last_day() -> None:
    svg = _two_series()
    labels = [t.text for t in svg.iter(f"{SVG}text") if re.fullmatch(r"\d+ \w{3}", t.text or "")]
    assert labels[0] == "1 Nov"
    assert labels[-1] == "5 Nov"


def test_names_are_escaped() -> None:
    markup = charts.line_chart(
        DAYS[:2],
        [charts.Series("<script>x</script>", [1, 2])],
        title='a "title" & more',
        description="<b>",
    )
    assert "<script>" not in markup
    assert _parse(markup).findtext(f"{SVG}title") == 'a "title" & more'


@pytest.mark.parametrize(
    ("value", "is_whole", "top"),
    [
        (0, True, 4),
        (1, True, 4),
        (7, True, 8),
        (9, True, 12),  # whole steps of 3 would be 3, not 2.5
        (61, True, 80),
        (87, True, 100),  # steps of 25, not 50 (an axis to 200 would leave half the chart empty)
        (0.3, False, 0.4),
        (5, False, 8),
        (9, False, 10),
    ],
)
def test_axis_tops_are_round_and_hold_the_largest_value(
    value: float, is_whole: bool, top: float
) -> None:
    assert charts.nice_max(value, is_whole=is_whole) == pytest.approx(top)


def test_bars_are_to_scale_with_their_values_written_out() -> None:
    long_name = "A very long content title that goes on and on beyond the chart's width"
    svg = _parse(
        charts.bar_chart(
            [("Webinar", 60), ("Article", 30), (long_name, 15)],
            title="Top items by clicks",
            description="Webinar: 60 clicks, Article: 30 clicks",
        )
    )
    widths = [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect")]
    assert widths[1] == pytest.approx(widths[0] / 2)
    assert widths[2] == pytest.approx(widths[0] / 4)
    values = [t.text for t in svg.iter(f"{SVG}text") if "chart__value" in t.get("class", "")]
    assert values == ["60", "30", "15"]
    labels = [t.text or "" for t in svg.iter(f"{SVG}text") if "bar-label" in t.get("class", "")]
    assert labels[:2] == ["Webinar", "Article"]
    assert labels[2].endswith("…")
    assert len(labels[2]) == 48
