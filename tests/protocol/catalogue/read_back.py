#!/usr/bin/env python3
"""boto3's view of what sandbox_spec.lua made with kumo, as one JSON object
(the independent read-back): read_back.py SANDBOX_DIR ENDPOINT PROFILE."""
import json
import os
import sys

import boto3

sb_dir, endpoint, profile = sys.argv[1:4]
for k in list(os.environ):
    if k.startswith("AWS_"):
        del os.environ[k]
os.environ["AWS_CONFIG_FILE"] = sb_dir + "/config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = sb_dir + "/credentials"
s = boto3.session.Session(profile_name=profile)


def client(name):
    return s.client(name, endpoint_url=endpoint)


out = {}
out["sns_topics"] = sorted(t["TopicArn"] for t in client("sns").list_topics()["Topics"])
out["sqs_queues"] = sorted(client("sqs").list_queues().get("QueueUrls", []))
ddb = client("dynamodb")
item = ddb.get_item(TableName="kumo-cat", Key={"k": {"S": "a b/ü"}}).get("Item", {})
if "b" in item:  # bytes as hex, for JSON
    item["b"] = {"B_hex": item["b"]["B"].hex()}
out["dynamodb_item"] = item
out["ssm_value"] = client("ssm").get_parameter(Name="/kumo/catalogue/endpoint")["Parameter"]["Value"]
zones = client("route53").list_hosted_zones()["HostedZones"]
out["route53_zones"] = sorted(z["Name"] for z in zones)
out["apigateway_apis"] = sorted((a["name"], a.get("description", ""))
                               for a in client("apigateway").get_rest_apis()["items"])
print(json.dumps(out, sort_keys=True))
