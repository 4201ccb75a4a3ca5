"""Where botocore sends each operation of the nine services whose
operations give their endpoint rule set parameters (staticContextParams,
contextParam members, operationContextParams), for sample inputs: JSON
lines {service, region, operation, params, host, signing_region,
signing_name, error} for tests/endpoints/compare_operations.lua.

Per service and region (us-east-1, us-west-2, eu-central-1): every
operation with such parameters, its contextParam members filled from the
samples below (by member name), DynamoDB's operationContextParams inputs
filled so that their JMESPath paths select something. The endpoint comes
from the client's rule-set resolver (client._resolve_endpoint_ruleset, the
step _make_api_call takes, with botocore's own per-operation handlers);
nothing is sent. `error` is the exception's class name when resolution fails.
"""
import json
import os

import botocore.session
from botocore.config import Config

SERVICES = ["s3", "s3control", "kinesis", "dynamodb", "arc-region-switch",
            "cloudfront-keyvaluestore", "events", "sesv2", "neptune-graph"]
REGIONS = ["us-east-1", "us-west-2", "eu-central-1"]


def samples(region):
    acct = "123456789012"
    stream = f"arn:aws:kinesis:{region}:{acct}:stream/s1"
    table = f"arn:aws:dynamodb:{region}:{acct}:table/t1"
    return {
        "Bucket": "amzn-bucket-1", "CopySource": "src-bucket/src-key", "Key": "k/obj",
        "Prefix": "p/", "AccountId": acct, "Name": "ap1",
        "OutpostId": "op-01234567890123456",
        "StreamARN": stream, "ConsumerARN": stream + "/consumer/c1:1", "StreamId": "s-1",
        "TableName": table, "TableArn": table, "TargetTableName": "t2",
        "GlobalTableName": "t3", "BackupArn": table + "/backup/01",
        "ExportArn": table + "/export/01", "ImportArn": table + "/import/01",
        "KvsARN": f"arn:aws:cloudfront::{acct}:key-value-store/kvs1",
        "EndpointId": "abcde.fghij",
        # DynamoDB's operationContextParams
        "TransactItems": [{"Get": {"TableName": table}},
                          {"Put": {"TableName": table + "x"}}],
        "RequestItems": {table: {}},
        "TableCreationParameters": {"TableName": f"arn:aws:dynamodb:{region}:{acct}:table/t9"},
    }


def main():
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    session = botocore.session.get_session()
    for svc in SERVICES:
        for region in REGIONS:
            client = session.create_client(svc, region_name=region,
                                           config=Config(retries={"max_attempts": 0}),
                                           aws_access_key_id="AKIDEXAMPLE",
                                           aws_secret_access_key="x")
            model = client.meta.service_model
            sample = samples(region)
            for name in model.operation_names:
                op = model.operation_model(name)
                members = op.input_shape.members if op.input_shape else {}
                ctx_members = [p.member_name for p in op.context_parameters]
                opctx = op.operation_context_parameters or {}
                if not (op.static_context_parameters or ctx_members or opctx):
                    continue
                params = {m: sample.get(m, "x1") for m in ctx_members}
                for m in ("TransactItems", "RequestItems", "TableCreationParameters"):
                    if opctx and m in members:
                        params[m] = sample[m]
                case = {"service": svc, "region": region, "operation": name, "params": params}
                ctx = {}
                try:
                    url, _, _ = client._resolve_endpoint_ruleset(op, params, ctx)
                except Exception as e:
                    case["error"] = type(e).__name__
                    print(json.dumps(case))
                    continue
                signing = ctx.get("signing", {})
                signer = client._request_signer
                case.update(host=url.split("://", 1)[-1].split("/", 1)[0],
                            signing_region=signing.get("region", signer._region_name),
                            signing_name=signing.get("signing_name", signer._signing_name))
                print(json.dumps(case))


if __name__ == "__main__":
    main()
