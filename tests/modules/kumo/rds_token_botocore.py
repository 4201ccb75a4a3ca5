#!/usr/bin/env python3
"""Expected RDS IAM auth tokens from botocore (RDS.generate_db_auth_token) at a
fixed time with fixed credentials, as JSON, for tests/modules/kumo/rds_spec.lua."""
import json, sys, datetime
import botocore.session, botocore.auth
from unittest import mock
cases = []
for (host, port, user, region, token) in [
    ("orders.proxy-abc.ap-northeast-1.rds.amazonaws.com", 5432, "app", "ap-northeast-1", None),
    ("db.example", 3306, "jane.doe@example.com", "us-east-1", "FwoGZXIvYXdzEJr//token+/="),
    ("orders-pg-app.endpoint.proxy-x.eu-west-1.rds.amazonaws.com", 443, "a b~c_d-e", "eu-west-1", "tok"),
    ("10.0.1.25", 1433, "sa/ü+1", "cn-north-1", None),
    ("orders-pg-app.endpoint.proxy-x.ap-northeast-1.rds.amazonaws.com", 5432, "iam_user", "ap-northeast-1",
     "IQoJb3JpZ2luX2VjEA0aDmFwLW5vcnRoZWFzdC0xIkcwRQIhAK" * 8),
]:
    s = botocore.session.get_session()
    s.set_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    c = s.create_client("rds", region_name=region)
    t = 1440938160
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: dt):
        tok = c.generate_db_auth_token(host, port, user, Region=region)
    cases.append({"host": host, "port": port, "user": user, "region": region, "token": token, "time": t, "expect": tok})
json.dump(cases, sys.stdout, indent=1)
