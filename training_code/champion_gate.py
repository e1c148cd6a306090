"""The champion part of the quality gate: what the new model must reach to beat the champion.

The state machine cannot add decimals (the state language has no float arithmetic), so the
evaluation job writes the bar into ``report["gate"]["champion"]``: the champion's value of the
gate metric plus ``min_improvement``, and the gate's Choice compares the new model's value with
it (``NumericGreaterThanEqualsPath``). The bar is rounded to 9 places so that 0.7 + 0.1 is
0.8, not 0.7999999999999999, which a model measured at 0.8 would then beat by accident of
binary fractions, or 0.1 + 0.2 is 0.3, which one measured at 0.3 would otherwise miss.
"""

from __future__ import annotations

from typing import Any

BAR_DECIMALS = 9
NO_CHAMPION_NOTE = "no champion yet: the gate passed on the threshold alone"


def champion_gate(
    gate: dict[str, Any],
    champion_metrics: dict[str, Any] | None,
    *,
    source: str | None,
    min_improvement: float,
) -> dict[str, Any]:
    """``gate`` (from ``eval_metrics.gate``) with its ``champion`` block, and ``passed`` updated.

    Args:
        gate: the new model's gate: ``metric``, ``value``, ``threshold``, ``passed``.
        champion_metrics: the champion's metrics on the same samples; None where there is no
            champion yet (the first run).
        source: the champion's endpoint, for the report.
        min_improvement: how much higher than the champion's the new model's value must be.
    """
    if champion_metrics is None:
        return {
            **gate,
            "champion": {"source": None, "value": None, "bar": None, "beaten": None},
            "note": NO_CHAMPION_NOTE,
        }
    value = champion_metrics.get(gate["metric"])
    if value is None:
        champion = {"source": source, "value": None, "bar": None, "beaten": False}
        return {
            **gate,
            "champion": champion,
            "passed": False,
            "reason": f"the champion's {gate['metric']} could not be measured on these samples",
        }
    bar = round(value + min_improvement, BAR_DECIMALS)
    beaten = gate["value"] is not None and gate["value"] >= bar
    champion = {
        "source": source,
        "value": value,
        "min_improvement": min_improvement,
        "bar": bar,
        "beaten": beaten,
    }
    return {**gate, "champion": champion, "passed": bool(gate["passed"] and beaten)}
