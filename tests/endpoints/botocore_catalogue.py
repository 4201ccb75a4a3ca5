"""Where botocore (the default python3's) sends each service of its whole
catalogue (424), for a sample of regions, plain, FIPS, dual-stack and both:
JSON lines {service, region, fips, dualstack, operation, host,
signing_region, signing_name, error} for tests/endpoints/compare_catalogue.lua.

The sample, per service: no region; us-east-1; one region of the aws
partition drawn per service (seeded by the service name, so every aws
region is drawn for some services and the run is the same every time);
cn-north-1 (aws-cn); us-gov-west-1 (aws-us-gov). The ten services of
botocore_endpoints.py are checked there in every region of every partition.

The client is botocore's own (create_client, with its ClientEndpointBridge
checks); the endpoint comes from its rule-set resolver for an operation
without static context parameters, or the first when all have them
(client._resolve_endpoint_ruleset, the step _make_api_call takes; its name
is `operation`, whose static context parameters kumo gives its rules too), and the signing scope from the rule's
authSchemes, else the client's request signer, as botocore signs. Nothing is
sent. To keep ~8,500 clients fast: clients of one service share one
generated class (botocore builds the same class anew per client) and get
no HTTP connection pool (nothing is sent).
`error` is the exception's class name when client creation or endpoint
resolution fails. Usage: botocore_catalogue.py [SERVICE...]
"""
import json
import os
import random
import sys

import botocore.client
import botocore.endpoint
import botocore.session
from botocore.config import Config

_classes = {}
_create_class = botocore.client.ClientCreator._create_client_class


def _cached_class(self, service_name, service_model):
    cls = _classes.get(service_name)
    if cls is None:
        cls = _classes[service_name] = _create_class(self, service_name, service_model)
    return cls


botocore.client.ClientCreator._create_client_class = _cached_class


class _NoHTTP:
    def __init__(self, **_):
        pass


_create_endpoint = botocore.endpoint.EndpointCreator.create_endpoint


def _endpoint_without_pool(self, *args, **kwargs):
    kwargs["http_session_cls"] = _NoHTTP
    return _create_endpoint(self, *args, **kwargs)


botocore.endpoint.EndpointCreator.create_endpoint = _endpoint_without_pool


def operation_of(client):
    model = client.meta.service_model
    for name in model.operation_names:
        op = model.operation_model(name)
        if not op.static_context_parameters:
            return op
    return model.operation_model(model.operation_names[0])


def main():
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    partitions = loader.load_data("endpoints")["partitions"]
    aws_regions = sorted(next(p for p in partitions if p["partition"] == "aws")["regions"])
    services = sys.argv[1:] or session.get_available_services()
    for svc in services:
        rnd = random.Random(svc)
        regions = [None, "us-east-1"] + rnd.sample(aws_regions, 1) + ["cn-north-1", "us-gov-west-1"]
        op = None
        for region in regions:
            for fips, dual in ((False, False), (True, False), (False, True), (True, True)):
                case = {"service": svc, "region": region, "fips": fips, "dualstack": dual}
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
                op = op or operation_of(client)
                ctx = {}
                try:
                    url, _, _ = client._resolve_endpoint_ruleset(op, {}, ctx)
                except Exception as e:  # the rule set's own error
                    case["error"] = type(e).__name__
                    print(json.dumps(case))
                    continue
                signing = ctx.get("signing", {})
                signer = client._request_signer
                case.update(operation=op.name,
                            host=url.split("://", 1)[-1].split("/", 1)[0],
                            signing_region=signing.get("region", signer._region_name),
                            signing_name=signing.get("signing_name", signer._signing_name))
                print(json.dumps(case))


if __name__ == "__main__":
    main()
