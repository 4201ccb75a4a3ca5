"""Where botocore (the default python3's) sends a request, per service,
region and variant (plain, FIPS, dual-stack, both): JSON lines {service,
region, fips, dualstack, sts_regional_endpoints, host, signing_region,
signing_name, error} for tests/endpoints/compare.lua. Also every variant
with no region at all (region null), and STS again with
sts_regional_endpoints = legacy.

botocore resolves through its endpoint rule sets; the request is captured in
its own before-send event (from the Authorization credential scope) and
never sent. `error` is the exception's class name when client creation or
endpoint resolution fails. Usage: botocore_endpoints.py
"""
import json
import os

import botocore.session
from botocore.config import Config

OPS = {  # service -> an operation with no required parameters
    "sts": "GetCallerIdentity", "iam": "ListRoles", "ec2": "DescribeRegions",
    "rds": "DescribeDBInstances", "secretsmanager": "ListSecrets", "kms": "ListKeys",
    "organizations": "DescribeOrganization", "cloudwatch": "ListDashboards",
    "logs": "DescribeLogGroups", "ram": "ListPermissions",
}


class Captured(Exception):
    pass


def main():
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    partitions = loader.load_data("endpoints")["partitions"]
    regions = []
    for p in partitions:
        regions += sorted(p["regions"])
    cases = [(svc, region, "regional") for svc in OPS for region in [None] + regions]
    cases += [("sts", region, "legacy") for region in [None] + regions]
    for svc, region, sts_mode in cases:
        session.set_config_variable("sts_regional_endpoints", sts_mode)
        snake = botocore.xform_name(OPS[svc])
        for fips, dual in ((False, False), (True, False), (False, True), (True, True)):
            case = {"service": svc, "region": region, "fips": fips, "dualstack": dual,
                    "sts_regional_endpoints": sts_mode}
            cfg = Config(use_fips_endpoint=fips, use_dualstack_endpoint=dual,
                         retries={"max_attempts": 0})
            try:
                client = session.create_client(svc, region_name=region, config=cfg,
                                               aws_access_key_id="AKIDEXAMPLE",
                                               aws_secret_access_key="x")
            except Exception as e:  # no region, no such variant in this partition
                case["error"] = type(e).__name__
                print(json.dumps(case))
                continue
            seen = {}

            def capture(request, **kwargs):
                auth = request.headers.get("Authorization", b"")
                if isinstance(auth, bytes):
                    auth = auth.decode()
                scope = auth.split("Credential=")[1].split(",")[0].split("/")
                seen["url"] = request.url
                seen["signing_region"], seen["signing_name"] = scope[2], scope[3]
                raise Captured()

            client.meta.events.register("before-send", capture)
            try:
                getattr(client, snake)()
            except Captured:
                pass
            except Exception as e:  # the rule set's own error
                seen["error"] = type(e).__name__
            url = seen.get("url", "")
            case.update(host=url.split("://", 1)[-1].split("/", 1)[0],
                        signing_region=seen.get("signing_region"),
                        signing_name=seen.get("signing_name"), error=seen.get("error"))
            print(json.dumps(case))


if __name__ == "__main__":
    main()
