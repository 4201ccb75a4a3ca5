#!/usr/bin/env python3
"""A loopback HTTP(S) server that records every request it gets and answers
like the few AWS endpoints the settings tests reach.

    logserver.py LOGFILE [--tls CERT KEY]

Prints its port on stdout, then appends one JSON object per request to
LOGFILE: {"method", "target" (the request line's target: absolute when the
server is used as a proxy), "headers" (lower-case name -> value), "body"}.

Answers: an STS query call (GetCallerIdentity, AssumeRoleWithWebIdentity),
the EC2 instance metadata service (token, role name, role credentials) and a
container credentials endpoint (any other GET). Fake values only.
"""
import json
import ssl
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LOG = sys.argv[1]
EXPIRES = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
CREDS = {"AccessKeyId": "ASIALOGSERVER0000000", "SecretAccessKey": "logserver-secret",
         "Token": "logserver-token", "Expiration": EXPIRES}
NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IDENTITY = (f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult>'
            '<Arn>arn:aws:iam::123456789012:user/logserver</Arn><UserId>AIDALOGSERVER</UserId>'
            '<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata>'
            '<RequestId>logserver-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>')
WEB_IDENTITY = (f'<AssumeRoleWithWebIdentityResponse xmlns="{NS}"><AssumeRoleWithWebIdentityResult>'
                f'<Credentials><AccessKeyId>{CREDS["AccessKeyId"]}</AccessKeyId>'
                f'<SecretAccessKey>{CREDS["SecretAccessKey"]}</SecretAccessKey>'
                f'<SessionToken>{CREDS["Token"]}</SessionToken><Expiration>{EXPIRES}</Expiration>'
                '</Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>'
                '<AssumedRoleId>AROALOGSERVER:s</AssumedRoleId></AssumedRoleUser>'
                '</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>logserver-2'
                '</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "target": self.path,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body}) + "\n")
        path = self.path.split("://", 1)[-1]
        path = path[path.find("/"):] if "://" in self.path else path
        if self.command == "PUT" and path == "/latest/api/token":
            return self.answer(200, "logserver-imds-token", "text/plain")
        if path == "/latest/meta-data/iam/security-credentials/":
            return self.answer(200, "logserver-role", "text/plain")
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            return self.answer(200, json.dumps(dict(CREDS, Code="Success")), "application/json")
        if self.command == "POST":
            action = parse_qs(body).get("Action", [""])[0]
            if action == "AssumeRoleWithWebIdentity":
                return self.answer(200, WEB_IDENTITY, "text/xml")
            return self.answer(200, IDENTITY, "text/xml")
        return self.answer(200, json.dumps(CREDS), "application/json")

    do_GET = do_POST = do_PUT = do_CONNECT = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 5 and sys.argv[2] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    # ends when its stdin closes (the spec's io.popen handle)
    import threading
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
