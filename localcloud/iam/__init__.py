"""IAM enforced on the local cloud: requests made with a role's credentials are evaluated.

- ``credentials``: the role session keys the local cloud uses when it acts for a role
  (Step Functions, SageMaker staging and jobs, endpoints, Lambda), trust policy checked;
- ``requests``: a request as the IAM actions, resources and condition keys it needs;
- ``conditions`` and ``policy``: AWS's policy evaluation logic;
- ``hook``: the check, called from the request check's hook (``localcloud.validation``);
- ``managed_policies``: a template role's ``ManagedPolicyArns``, which moto drops.

``LOCALCLOUD_IAM=off`` turns it off (the default is ``enforce``).
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from localcloud.iam import credentials, managed_policies
from localcloud.patching import Patches

PATCHES = Patches()


def _bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    # moto's own bucket-policy check ignores most conditions and counts an unmet one as an
    # explicit deny (moto.iam.access_control), so the artifacts bucket's conditional deny
    # refused every writer; with enforcement on, the hook evaluates bucket policies instead.
    if credentials.enforced():
        return PermissionResult.NEUTRAL
    return PATCHES.original(FakeBucket, "get_permission")(self, action, resource)


def install() -> Patches:
    """Leaves bucket policies to this package's evaluation, keeps template roles' managed
    policies (idempotent); :func:`uninstall` undoes it."""
    if not PATCHES.applied:
        PATCHES.set(FakeBucket, "get_permission", _bucket_permission)
    managed_policies.install()
    return PATCHES


def uninstall() -> None:
    """Gives moto back its own bucket policy check and template roles."""
    managed_policies.uninstall()
    PATCHES.restore()
