"""``AWS::Budgets::Budget``, made in moto's Budgets backend as CloudFormation makes it.

Moto models the Budgets API (``CreateBudget``, ``DescribeBudgets``, notifications) but not the
CloudFormation resource, which would otherwise be recorded, not emulated. Here the template's
properties become the ``CreateBudget`` request CloudFormation sends: checked against botocore's
model of it with every constraint (``localcloud.validation``), and against the five
notifications a budget may have ("Array Members: Maximum number of 5 items",
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateBudget.html,
where the model says 10), then created with its notifications, so that
``describe_budgets`` and ``describe_notifications_for_budget`` list them after a deploy.

Not emulated: spend. Nothing is billed here, no alert is ever sent, and neither the topic's
policy nor its key is consulted (Budgets uses them only when it publishes an alert).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from botocore.model import Shape
from moto.budgets.models import budgets_backends
from moto.core.exceptions import JsonRESTError

from localcloud.cloudformation.local_resource import LocalResource
from localcloud.validation.constraints import Violation, check, summary
from localcloud.validation.wire import service_model

MAX_NOTIFICATIONS = 5
PARTITION = "aws"
# botocore's BudgetName pattern sets (?i) mid-pattern, which Java allows and Python's re does
# not (so the generic check skips it): the same pattern with the flag scoped to its group.
_NAME = re.compile(r"^(?![^:\\]*/action/|(?i:.*<script>.*</script>.*))[^:\\]+$")


class InvalidParameter(JsonRESTError):
    """Budgets' answer to a request it cannot use ("An error on the client occurred")."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterException", message)


class Budget(LocalResource):
    """A budget of one account, named by the template or by CloudFormation."""

    RESOURCE_TYPE = "AWS::Budgets::Budget"

    def __init__(self, account_id: str, name: str) -> None:
        self.account_id = account_id
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Budget:
        request = create_budget_request(
            cloudformation_json.get("Properties", {}), account_id, resource_name
        )
        backend = budgets_backends[account_id][PARTITION]
        backend.create_budget(
            account_id=account_id,
            budget=request["Budget"],
            notifications=request.get("NotificationsWithSubscribers", []),
        )
        return cls(account_id, request["Budget"]["BudgetName"])

    def delete(self, account_id: str, region_name: str) -> None:
        budgets_backends[self.account_id][PARTITION].delete_budget(self.account_id, self.name)


def create_budget_request(
    properties: dict[str, Any], account_id: str, default_name: str
) -> dict[str, Any]:
    """The ``CreateBudget`` request for a template's properties, refused as Budgets would.

    Raises:
        InvalidParameter: with the constraints the request breaks.
    """
    budget = dict(properties.get("Budget") or {})
    budget.setdefault("BudgetName", default_name)
    for spend in (budget.get("BudgetLimit"), *(budget.get("PlannedBudgetLimits") or {}).values()):
        if isinstance(spend, dict) and "Amount" in spend:
            spend["Amount"] = _number_text(spend["Amount"])
    if "TimePeriod" in budget:
        budget["TimePeriod"] = {k: _timestamp(v) for k, v in budget["TimePeriod"].items()}
    request: dict[str, Any] = {"AccountId": account_id, "Budget": budget}
    notifications = properties.get("NotificationsWithSubscribers")
    if notifications is not None:
        request["NotificationsWithSubscribers"] = notifications
    if properties.get("ResourceTags"):
        request["ResourceTags"] = properties["ResourceTags"]
    shape = service_model("budgets").operation_model("CreateBudget").input_shape
    violations = check(request, shape) + _name_violations(budget.get("BudgetName"), shape)
    if violations:
        raise InvalidParameter(summary(violations))
    if len(notifications or []) > MAX_NOTIFICATIONS:
        raise InvalidParameter(
            f"A budget can have up to {MAX_NOTIFICATIONS} notifications, got "
            f"{len(notifications or [])}"
        )
    return request


def _name_violations(name: Any, request_shape: Shape) -> list[Violation]:
    if not isinstance(name, str) or _NAME.fullmatch(name):
        return []
    pattern = request_shape.members["Budget"].members["BudgetName"].metadata["pattern"]
    return [
        Violation(
            "constraint",
            "Budget.BudgetName",
            "budget.budgetName",
            name,
            f"Member must satisfy regular expression pattern: {pattern}",
        )
    ]


def _number_text(amount: Any) -> str:
    """CloudFormation's ``Amount`` is a number; the API's is text such as ``500`` or ``0.5``."""
    if isinstance(amount, float) and amount.is_integer():
        return str(int(amount))
    return str(amount)


def _timestamp(value: Any) -> float:
    """CloudFormation's ``Start``/``End``: epoch seconds or an ISO 8601 time, as text."""
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return float(text)
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()
