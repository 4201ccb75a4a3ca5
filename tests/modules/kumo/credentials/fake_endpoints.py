"""Loopback fakes of the endpoints kumo's credential providers call:
EC2 instance metadata (IMDSv2), ECS/EKS container credentials, the IAM
Identity Center portal (GetRoleCredentials) and OIDC token refresh, and STS
AssumeRoleWithWebIdentity. Test-only; standard library only.

Usage: python3 fake_endpoints.py PORTFILE [PARENT_PID]
(binds 127.0.0.1:0, writes the port; exits when PARENT_PID is gone)
Control: POST /_config (JSON merged into the settings), GET /_log (requests
seen), POST /_reset (clears the log and the settings).
"""
import json
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "imds_disabled_v2": False,     # answer 404 to the token PUT (an IMDSv1-only service)
    "imds_require_token": True,
    "imds_role": "kumo-instance-role",
    "imds_fail": 0,                # answer 500 to the next N IMDS requests
    "lifetime": 3600,              # seconds until the handed-out credentials expire
    "ecs_token": None,             # required Authorization header value
    "ecs_fail": 0,
    "sso_token": "sso-access-token",
    "oidc_new_token": "sso-refreshed-token",
    "web_token": "web-identity-token",
    "counter": 0,
}
state = {"cfg": dict(DEFAULTS), "log": []}
lock = threading.Lock()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def next_creds(prefix):
    with lock:
        state["cfg"]["counter"] += 1
        n = state["cfg"]["counter"]
    exp = datetime.now(timezone.utc) + timedelta(seconds=state["cfg"]["lifetime"])
    return {"AccessKeyId": "%s%016d" % (prefix, n), "SecretAccessKey": "fake-secret-%d" % n,
            "Token": "fake-token-%d" % n, "Expiration": iso(exp), "n": n, "exp": exp}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body=b""):
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace")}
        with lock:
            state["log"].append(entry)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        body = self.read_body()
        self.record(body)
        cfg = state["cfg"]
        if self.path == "/latest/api/token":
            if cfg["imds_disabled_v2"]:
                return self.send(404, "not found", "text/plain")
            if not self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                return self.send(400, "missing ttl", "text/plain")
            return self.send(200, "imds-token-abc", "text/plain")
        self.send(404, "{}")

    def do_GET(self):
        self.record()
        cfg = state["cfg"]
        url = urllib.parse.urlparse(self.path)
        if url.path == "/_log":
            with lock:
                return self.send(200, json.dumps(state["log"]))
        if url.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if cfg["imds_fail"] > 0:
                cfg["imds_fail"] -= 1
                return self.send(500, "boom", "text/plain")
            if cfg["imds_require_token"] and not cfg["imds_disabled_v2"] and \
                    self.headers.get("x-aws-ec2-metadata-token") != "imds-token-abc":
                return self.send(401, "token required", "text/plain")
            role = url.path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.send(200, cfg["imds_role"] + "\n", "text/plain")
            if role != cfg["imds_role"]:
                return self.send(404, "no such role", "text/plain")
            c = next_creds("ASIAIMDS")
            return self.send(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                "Token": c["Token"], "Expiration": c["Expiration"]}))
        if url.path.startswith("/ecs/"):
            if cfg["ecs_fail"] > 0:
                cfg["ecs_fail"] -= 1
                return self.send(503, "busy", "text/plain")
            if cfg["ecs_token"] is not None and self.headers.get("Authorization") != cfg["ecs_token"]:
                return self.send(401, json.dumps({"message": "bad token"}))
            c = next_creds("ASIAECS0")
            return self.send(200, json.dumps({"AccessKeyId": c["AccessKeyId"],
                "SecretAccessKey": c["SecretAccessKey"], "Token": c["Token"],
                "Expiration": c["Expiration"], "AccountId": "123456789012"}))
        if url.path == "/federation/credentials":
            q = urllib.parse.parse_qs(url.query)
            if self.headers.get("x-amz-sso_bearer_token") != cfg["sso_token"]:
                return self.send(401, json.dumps({"message": "Session token not found or invalid"}))
            if q.get("account_id") != ["333333333333"] or q.get("role_name") != ["ReadOnly"]:
                return self.send(403, json.dumps({"message": "No access"}))
            c = next_creds("ASIASSO0")
            return self.send(200, json.dumps({"roleCredentials": {
                "accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                "sessionToken": c["Token"], "expiration": int(c["exp"].timestamp() * 1000)}}))
        self.send(404, "{}")

    def do_POST(self):
        body = self.read_body()
        self.record(body)
        cfg = state["cfg"]
        if self.path == "/_config":
            with lock:
                state["cfg"].update(json.loads(body or b"{}"))
            return self.send(200, "{}")
        if self.path == "/_reset":
            with lock:
                state["cfg"] = dict(DEFAULTS)
                state["log"] = []
            return self.send(200, "{}")
        if self.path == "/token":
            req = json.loads(body or b"{}")
            if req.get("grantType") != "refresh_token" or req.get("refreshToken") != "refresh-1":
                return self.send(400, json.dumps({"error": "invalid_grant"}))
            cfg["sso_token"] = cfg["oidc_new_token"]
            return self.send(200, json.dumps({"accessToken": cfg["oidc_new_token"], "expiresIn": 3600,
                                              "tokenType": "Bearer", "refreshToken": "refresh-2"}))
        form = urllib.parse.parse_qs(body.decode())
        if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
            if form.get("WebIdentityToken") != [cfg["web_token"]]:
                return self.send(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
                                 "</Code><Message>Token is not valid</Message></Error></ErrorResponse>",
                                 "text/xml")
            c = next_creds("ASIAWEB0")
            role = form["RoleArn"][0]
            account = role.split(":")[4]
            name = form.get("RoleSessionName", ["s"])[0]
            return self.send(200, (
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
                "<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>"
                "<AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>"
                "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>") % (
                    c["AccessKeyId"], c["SecretAccessKey"], c["Token"], c["Expiration"], account,
                    role.split("/")[-1], name, name), "text/xml")
        self.send(404, "{}")


def watch_parent(pid, server):
    import os
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except OSError:
            server.shutdown()
            return


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) > 2:
        threading.Thread(target=watch_parent, args=(int(sys.argv[2]), server), daemon=True).start()
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
