"""What the new model is compared with: ``evaluation.compare_with`` and ``min_improvement``.

``compare_with`` is ``base``, ``champion``, ``none`` or a list of ``base`` and ``champion``
(both: the report shows the three models side by side). ``compare_with_base: true`` is the
older spelling of ``base``, and still adds it. The environment's default
(``evaluation.compare_with`` in config/environments.yaml) applies when the input says neither.

The normalised evaluation holds the list (``compare_with``) and one flag per comparison
(``compare_with_base``, ``compare_with_champion``), which the state machine's Choice states read.
"""

from __future__ import annotations

from typing import Any

from config_values import shown
from input_checks import Checker, kind

from contracts import workflow as contract

ALLOWED = (*contract.COMPARISONS, contract.NO_COMPARISON)


def _listed(check: Checker, value: Any) -> list[str] | None:
    """``value`` as a list of comparisons, or None after saying why it is not one."""
    field = "evaluation.compare_with"
    if value == contract.NO_COMPARISON:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        check.fail(
            field,
            f"must be one of {', '.join(ALLOWED)} or a list of {' and '.join(contract.COMPARISONS)}"
            f", got {kind(value)}",
        )
        return None
    unknown = [item for item in value if item not in contract.COMPARISONS]
    if unknown:
        check.fail(
            field,
            f"must be one of {', '.join(ALLOWED)} or a list of {' and '.join(contract.COMPARISONS)}"
            f", got {shown(unknown[0])}",
        )
        return None
    return [item for item in contract.COMPARISONS if item in value]


def comparisons(check: Checker, value: dict[str, Any]) -> dict[str, Any]:
    """``compare_with``, its flags and ``min_improvement`` of the input's ``evaluation``."""
    older = value.get("compare_with_base")
    if older is not None and not isinstance(older, bool):
        check.fail("evaluation.compare_with_base", f"must be true or false, got {kind(older)}")
        older = None
    if "compare_with" in value:
        chosen = _listed(check, value["compare_with"]) or []
        if older is False and "base" in chosen:
            check.fail(
                "evaluation.compare_with_base",
                "is false, but compare_with names base: give compare_with alone "
                "(compare_with_base is its older spelling)",
            )
    elif older is not None:
        chosen = ["base"] if older else []
    else:
        chosen = _listed(check, check.settings.default_compare_with) or []
    if older is True and "base" not in chosen:
        chosen = [item for item in contract.COMPARISONS if item in ("base", *chosen)]
    min_improvement = value.get("min_improvement", check.settings.default_min_improvement)
    if isinstance(min_improvement, bool) or not isinstance(min_improvement, int | float):
        check.fail("evaluation.min_improvement", f"must be a number, got {kind(min_improvement)}")
        min_improvement = 0.0
    elif not 0 <= min_improvement <= 1:
        check.fail(
            "evaluation.min_improvement",
            f"must be between 0 and 1 (an absolute gain on the gate metric), got {min_improvement}",
        )
    elif "min_improvement" in value and "champion" not in chosen:
        check.fail(
            "evaluation.min_improvement",
            "applies only when compare_with names champion: add it, or leave min_improvement out",
        )
    return {
        "compare_with": chosen,
        "compare_with_base": "base" in chosen,
        "compare_with_champion": "champion" in chosen,
        "min_improvement": min_improvement,
    }
