"""The cost as a section of report.html: a table per stage and the total."""

from __future__ import annotations

import html
from typing import Any

MARKER = '<section id="cost">'


def section(cost: dict[str, Any]) -> str:
    """The HTML section for ``cost`` (``costs.actual.computed_cost`` plus ``summary``)."""
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(value))}</td>"
            for value in (
                stage["stage"],
                stage["instance_type"],
                stage["instance_count"],
                f"{stage['seconds']:.0f}",
                f"{stage['usd_per_hour']:.4f}",
                f"{stage['usd']:.2f}",
            )
        )
        + "</tr>"
        for stage in cost["stages"]
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in cost["notes"])
    return (
        f"{MARKER}<h2>Cost ({html.escape(cost['kind'])})</h2>"
        "<table><tr><th>stage</th><th>instance type</th><th>instances</th><th>seconds</th>"
        f"<th>USD/hour</th><th>USD</th></tr>{rows}"
        f"<tr><th colspan=5>total</th><th>{cost['total_usd']:.2f}</th></tr></table>"
        f"<p>Prices: {html.escape(cost['source'])}</p><ul>{notes}</ul></section>"
    )


def add_to_html(page: str, cost: dict[str, Any]) -> str:
    """``page`` with the cost section before ``</body>`` (replacing one written before)."""
    if MARKER in page:
        start = page.index(MARKER)
        end = page.index("</section>", start) + len("</section>")
        page = page[:start] + page[end:]
    if "</body>" in page:
        return page.replace("</body>", section(cost) + "\n</body>", 1)
    return page + section(cost)
