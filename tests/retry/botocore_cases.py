"""Retry decisions of botocore (the default python3's) for a grid of failed
attempts, as JSON lines for tests/retry/compare.lua.

Each case: service (endpoint prefix), operation, attempt (1-based attempt
that failed), max_attempts (null = the mode's default), status (null for a
transport failure), code (null when the body had none), exc (transport
failure kind), retry_after (x-amz-retry-after header or null).
botocore's answer: retry (bool), delay (seconds, with random() = 0.5),
cost (retry quota taken; standard mode).

Usage: botocore_cases.py standard|legacy   (set AWS_NEW_RETRIES_2026=true
in the environment for the 2026 behaviour; botocore reads it at import).
"""
import copy
import json
import random
import sys

import botocore.session
from botocore import retryhandler, translate
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (ConnectionClosedError, ConnectTimeoutError,
                                 EndpointConnectionError, ReadTimeoutError)
from botocore.retries import quota, standard

RAND = 0.5
SERVICES = {  # endpoint prefix -> (botocore service, an operation)
    "rds": ("rds", "DescribeDBProxies"),
    "ec2": ("ec2", "DescribeSubnets"),
    "sts": ("sts", "GetCallerIdentity"),
    "organizations": ("organizations", "DescribeOrganization"),
    "secretsmanager": ("secretsmanager", "DescribeSecret"),
    "sqs": ("sqs", "ReceiveMessage"),
    "s3": ("s3", "ListBuckets"),
    "route53": ("route53", "ListHostedZones"),
    "dynamodb": ("dynamodb", "GetItem"),
}
CODES = [None, "Throttling", "ThrottlingException", "ThrottledException",
         "RequestThrottledException", "TooManyRequestsException",
         "ProvisionedThroughputExceededException", "TransactionInProgressException",
         "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
         "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
         "RequestTimeout", "RequestTimeoutException", "IDPCommunicationError",
         "ReplicatedWriteConflictException", "BadDigest", "ExpiredToken", "AccessDenied",
         "DBProxyNotFoundFault", "InternalError", "ServiceUnavailable"]
STATUSES = [400, 403, 404, 408, 409, 429, 500, 502, 503, 504, 509]
EXCEPTIONS = {
    "connect": EndpointConnectionError(endpoint_url="https://x"),
    "connect_timeout": ConnectTimeoutError(endpoint_url="https://x"),
    "read_timeout": ReadTimeoutError(endpoint_url="https://x"),
    "closed": ConnectionClosedError(endpoint_url="https://x"),
}
ATTEMPTS = [1, 2, 3, 4, 5, 6, 11]
RETRY_AFTER = [None, "1500", "60000", "10", "0", "-5", "abc"]


def cases():
    for svc in SERVICES:
        for attempt in ATTEMPTS:
            for max_attempts in (None, 6):
                for exc in EXCEPTIONS:
                    yield dict(service=svc, attempt=attempt, max_attempts=max_attempts,
                               status=None, code=None, exc=exc, retry_after=None)
                for status in STATUSES:
                    for code in CODES:
                        yield dict(service=svc, attempt=attempt, max_attempts=max_attempts,
                                   status=status, code=code, exc=None, retry_after=None)
        for ra in RETRY_AFTER[1:]:
            for status, code in ((500, None), (400, "Throttling"), (503, "SlowDown"), (404, "X")):
                yield dict(service=svc, attempt=2, max_attempts=None, status=status, code=code,
                           exc=None, retry_after=ra)


def response(case):
    if case["status"] is None:
        return None, None
    headers = {}
    if case["retry_after"] is not None:
        headers["x-amz-retry-after"] = case["retry_after"]
    http = AWSResponse("https://x", case["status"], headers, None)
    parsed = {"Error": {"Code": case["code"]}} if case["code"] else {}
    return http, parsed


def standard_answer(case, op_model):
    http, parsed = response(case)
    exc = EXCEPTIONS.get(case["exc"]) if case["exc"] else None
    ctx = standard.RetryContext(attempt_number=case["attempt"], operation_model=op_model,
                                parsed_response=parsed, http_response=http,
                                caught_exception=exc, request_context={})
    max_attempts = case["max_attempts"]
    hyph = op_model.service_model.service_id.hyphenize()
    if max_attempts is None:
        if standard.NEW_RETRIES_ENABLED:
            max_attempts = standard._SERVICE_MAX_ATTEMPTS.get(hyph, standard.DEFAULT_MAX_ATTEMPTS)
        else:
            max_attempts = standard.DEFAULT_MAX_ATTEMPTS
    checker = standard.StandardRetryConditions(max_attempts=max_attempts)
    if not checker.is_retryable(ctx):
        return {"retry": False}
    adapter = standard.RetryEventAdapter()
    if standard.NEW_RETRIES_ENABLED:
        detector = standard.ThrottlingErrorDetector(adapter)
        quota_checker = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
        backoff = standard.ExponentialBackoff(random=lambda: RAND, service_name=hyph,
                                              throttling_detector=detector)
    else:
        quota_checker = standard.RetryQuotaChecker(quota.RetryQuota())
        backoff = standard.ExponentialBackoff(random=lambda: RAND)
    assert quota_checker.acquire_retry_quota(ctx)
    return {"retry": True, "delay": backoff.delay_amount(ctx),
            "cost": ctx.request_context["retry_quota_capacity"]}


def legacy_answer(case, loader, svc_model, op_name):
    http, parsed = response(case)
    exc = EXCEPTIONS.get(case["exc"]) if case["exc"] else None
    # a fresh copy per service: build_retry_config merges a service's policies
    # into the shared $ref definitions, so one service would leak into the next
    original = copy.deepcopy(loader.load_data("_retry"))
    # AWS_MAX_ATTEMPTS is total attempts; the client hands the legacy
    # translator retries = total - 1 (client.py _transform_legacy_retries)
    client_cfg = {"max_attempts": case["max_attempts"] - 1} if case["max_attempts"] else None
    config = translate.build_retry_config(svc_model.endpoint_prefix, original["retry"],
                                          original.get("definitions", {}), client_cfg)
    handler = retryhandler.create_retry_handler(config, op_name)
    try:
        delay = handler(attempts=case["attempt"], response=(http, parsed) if http else None,
                        caught_exception=exc, request_dict={"context": {}})
    except type(exc) if exc else ():
        delay = None  # legacy re-raises the transport error when it will not retry
    if delay is None:
        return {"retry": False}
    return {"retry": True, "delay": delay}


def main():
    mode = sys.argv[1]
    random.random = lambda: RAND  # legacy's 'rand' base
    retryhandler.random.random = lambda: RAND
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    models = {}
    for prefix, (name, op) in SERVICES.items():
        svc_model = session.get_service_model(name)
        models[prefix] = (svc_model, svc_model.operation_model(op), op)
    for case in cases():
        svc_model, op_model, op = models[case["service"]]
        case["operation"] = op
        if mode == "legacy":
            case["botocore"] = legacy_answer(case, loader, svc_model, op)
        else:
            case["botocore"] = standard_answer(case, op_model)
        print(json.dumps(case))


if __name__ == "__main__":
    main()
