"""Loopback HTTP/1.1 server for tests/modules/kumo/http_spec.lua.

Prints "PORT" on its first line once listening on 127.0.0.1 (port 0 =
a free port) and serves until stdin closes. Keep-alive is on (HTTP/1.1),
so the spec can see connection reuse.

  /echo        200, JSON {method, path, headers: [[n, v]...], body}
  /status/N    status N with a small body
  /bytes/N     N bytes of 'x' (Content-Length set)
  /chunked/N   N bytes of 'y', chunked (no Content-Length)
  /slow/MS     waits MS milliseconds, then 200
  /dup         two Set-Cookie headers and an X-Dup pair
  /close       200 with Connection: close

As a proxy target it gets absolute-form request lines
("GET http://host/echo"): it serves them as their path and /echo shows
the raw request target. "--tls CERT KEY" serves HTTPS instead.
"""
import http.server
import json
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, body, headers=()):
        self.send_response(code)
        for n, v in headers:
            self.send_header(n, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        route = self.path
        if route.startswith("http://"):  # proxied: absolute form
            route = "/" + route.split("/", 3)[3]
        parts = route.split("?")[0].split("/") + [""]
        if route.startswith("/echo"):
            out = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("latin-1")}
            self._send(200, json.dumps(out).encode(), [("Content-Type", "application/json")])
        elif parts[1] == "status":
            self._send(int(parts[2]), b"status body")
        elif parts[1] == "bytes":
            self._send(200, b"x" * int(parts[2]))
        elif parts[1] == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = int(parts[2])
            while left > 0:
                k = min(left, 65536)
                self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
                left -= k
            self.wfile.write(b"0\r\n\r\n")
        elif parts[1] == "slow":
            time.sleep(int(parts[2]) / 1000)
            self._send(200, ("slept " + parts[2]).encode())
        elif parts[1] == "dup":
            self._send(200, b"dup", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                     ("X-Dup", "one"), ("X-Dup", "two")])
        elif parts[1] == "close":
            self.close_connection = True
            self._send(200, b"bye", [("Connection", "close")])
        else:
            self._send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (size caps, timeouts) are expected


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()  # until the spec closes our stdin (or exits)
    srv.shutdown()


if __name__ == "__main__":
    main()
