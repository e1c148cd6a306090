"""What the code of a SageMaker job in a VPC reaches of the local cloud: what its VPC provides.

A job with a ``VpcConfig`` reaches AWS services through its VPC: "SageMaker AI ... connects to
resources in your VPC"; with no internet access the job needs "a VPC endpoint or a NAT gateway"
for each service it calls ("Give SageMaker AI Training Jobs Access to Resources in Your Amazon
VPC", https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html; processing jobs:
https://docs.aws.amazon.com/sagemaker/latest/dg/process-vpc.html). The job's process signs
its requests with keys of its own (``JobRun.process_keys``), registered here with the job's
subnets; a request with them is let through when

- every subnet of the job routes to an internet or NAT gateway (the public endpoint is then
  reachable; what lies beyond the gateway is not emulated), or
- the VPC has an endpoint for the service (an interface endpoint, or a gateway endpoint on the
  subnet's route table) whose policy allows the request.

Otherwise the connection is closed unanswered (``validation.Unreachable``): the SDK reports a
connection error where AWS's would time out. An endpoint policy that does not allow the
request answers ``AccessDenied`` "... because no VPC endpoint policy allows ..." (the wording of
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
Not emulated: security group rules, network ACLs, private DNS, and SageMaker's own staging
(inputs, outputs, logs), which the local cloud does outside the job's VPC.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends

from localcloud import validation
from localcloud.iam import credentials, hook, policy
from localcloud.iam.credentials import Keys
from localcloud.iam.requests import needed
from localcloud.validation.responses import Refusal
from localcloud.validation.wire import Call

LOG = logging.getLogger(__name__)
# boto3 service name -> the VPC endpoint service com.amazonaws.<region>.<name> (the "Service
# name" column of https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html)
ENDPOINT_SERVICES: Final[dict[str, str]] = {
    "s3": "s3",
    "sagemaker": "sagemaker.api",
    "sagemaker-runtime": "sagemaker.runtime",
    "logs": "logs",
    "sts": "sts",
    "kms": "kms",
    "stepfunctions": "states",
    "lambda": "lambda",
    "sns": "sns",
    "events": "events",
    "ecr": "ecr.api",
    "cloudwatch": "monitoring",
    "ssm": "ssm",
    "cloudformation": "cloudformation",
}
# SageMaker's session name for a job's role ("assumed-role/<role>/SageMaker").
SESSION: Final[str] = "SageMaker"
_ALLOW_ALL: Final[dict[str, Any]] = {
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
}


@dataclass(frozen=True)
class VpcJob:
    """A job's process in a VPC: who it is and where its network interfaces are."""

    name: str
    role_arn: str
    session_name: str
    account: str
    region: str
    subnets: tuple[str, ...]


_lock = threading.Lock()
_jobs: dict[str, VpcJob] = {}


def register(access_key: str, job: VpcJob) -> None:
    """Requests signed with ``access_key`` come from ``job``'s code from now on."""
    with _lock:
        _jobs[access_key] = job


def unregister(access_key: str) -> None:
    """Forgets ``access_key`` (the job ended)."""
    with _lock:
        _jobs.pop(access_key, None)


def job_keys(name: str, request: Mapping[str, Any], account: str, region: str) -> Keys:
    """The keys a job's code gets: its role's session (as SageMaker's staging for it has, same
    session name), with keys of its own, registered when the job has a ``VpcConfig``
    (CreateTrainingJob's, or CreateProcessingJob's ``NetworkConfig.VpcConfig``)."""
    role = request.get("RoleArn")
    keys = credentials.for_role(role, credentials.SAGEMAKER, SESSION, fresh=True)
    vpc = request.get("VpcConfig") or (request.get("NetworkConfig") or {}).get("VpcConfig")
    if role and vpc and vpc.get("Subnets") and keys is not credentials.ADMIN:
        job = VpcJob(name, role, SESSION, account, region, tuple(vpc["Subnets"]))
        register(keys.access_key_id, job)
    return keys


def install() -> None:
    """Puts the check in front of every request (idempotent)."""
    validation.add_gate(gate)


def gate(call: Call, headers: Mapping[str, str], args: Mapping[str, str]) -> Refusal | None:
    """None when ``call`` may reach its service; a refusal from the endpoint's policy.

    Raises:
        validation.Unreachable: a job's VPC has no way to the service.
    """
    signer = hook.caller(headers, args)
    job = _jobs.get(signer[0]) if signer else None
    if job is None:
        return None
    backend = ec2_backends[job.account][job.region]
    try:
        tables = [_route_table(backend, subnet) for subnet in job.subnets]
    except InvalidSubnetIdError:
        # SageMaker refuses a job whose subnets do not exist; one that got this far has no
        # network a request could have taken.
        raise validation.Unreachable(
            f"job {job.name}: its subnets {', '.join(job.subnets)} do not exist"
        ) from None
    if tables and all(t is not None and _to_internet(t) for t in tables):
        return None
    vpc_id = backend.get_subnet(job.subnets[0]).vpc_id
    service = f"com.amazonaws.{job.region}.{ENDPOINT_SERVICES.get(call.service, call.service)}"
    endpoints = [
        e
        for e in backend.vpc_end_points.values()
        if e.vpc_id == vpc_id and e.service_name == service and _serves(e, tables)
    ]
    if not endpoints:
        raise validation.Unreachable(
            f"job {job.name} in {vpc_id} has no VPC endpoint for {service} and no route to an "
            f"internet or NAT gateway: {call.service} {call.operation.name}"
        )
    denials = [_endpoint_denial(e, call, job) for e in endpoints]
    if all(denials):
        return hook.shaped(call, str(denials[0]))
    _reached_once(job.name, service, endpoints[0].id)
    return None


@cache
def _reached_once(name: str, service: str, endpoint_id: str) -> None:
    LOG.info("VPC: job %s reaches %s through %s", name, service, endpoint_id)


@cache
def _route_table(backend: Any, subnet_id: str) -> Any | None:
    """The route table of the subnet: the one associated with it, else its VPC's main one."""
    vpc_id = backend.get_subnet(subnet_id).vpc_id
    tables = [t for t in backend.route_tables.values() if t.vpc_id == vpc_id]
    associated = [t for t in tables if any(a.get("SubnetId") == subnet_id for a in t.associations)]
    main = [t for t in tables if t.main_association_id is not None]
    found = associated or main
    return found[0] if found else None


def _to_internet(table: Any) -> bool:
    return any(
        route.nat_gateway is not None
        or (route.gateway is not None and str(route.gateway.id).startswith("igw-"))
        for route in table.routes
    )


def _serves(endpoint: Any, tables: list[Any]) -> bool:
    """An interface endpoint serves its whole VPC; a gateway one the route tables it is on."""
    if str(endpoint.vpc_endpoint_type).lower() != "gateway":
        return True
    on = set(endpoint.route_table_ids or [])
    return bool(tables) and all(t is not None and t.id in on for t in tables)


def _endpoint_denial(endpoint: Any, call: Call, job: VpcJob) -> str | None:
    """AWS's AccessDenied message when the endpoint's policy does not allow ``call``."""
    document = policy.parse(endpoint.policy_document)
    role_name = job.role_arn.rsplit("/", 1)[-1]
    principal = policy.Principal(
        role_arn=job.role_arn,
        session_arn=f"arn:aws:sts::{job.account}:assumed-role/{role_name}/{job.session_name}",
        account=job.account,
    )
    # The endpoint policy limits what passes; the role's own policies are IAM's to evaluate.
    endpoint_policy = [policy.ResourcePolicy(document, required=True)]
    for need in needed(call, job.account, job.region):
        request = policy.Request(need.action, need.resource, need.context)
        decision = policy.evaluate(request, principal, [_ALLOW_ALL], endpoint_policy)
        if decision is not policy.Decision.ALLOWED:
            why = (
                "with an explicit deny in a VPC endpoint policy"
                if decision is policy.Decision.RESOURCE_DENY
                else f"because no VPC endpoint policy allows the {need.action} action"
            )
            return (
                f"User: {principal.session_arn} is not authorized to perform: {need.action} "
                f"on resource: {need.resource} {why}"
            )
    return None
