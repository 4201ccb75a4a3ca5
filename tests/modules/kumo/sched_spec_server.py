"""Loopback HTTP/1.1 server for sched_spec.lua: slow answers on demand.

GET /?delay=S&status=N&body=B  answers after S seconds (threaded: requests
overlap); GET /_stats gives {"connections", "requests", "max_concurrent"};
GET /_reset zeroes them. Keep-alive, TCP_NODELAY. Prints its port, exits when
stdin closes.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATS = {"connections": 0, "requests": 0, "max_concurrent": 0, "concurrent": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with LOCK:
            STATS["connections"] += 1

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/_stats":
            with LOCK:
                return self.answer(200, json.dumps(STATS))
        if url.path == "/_reset":
            with LOCK:
                for k in STATS:
                    STATS[k] = 0
            return self.answer(200, "reset")
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            STATS["requests"] += 1
            STATS["concurrent"] += 1
            STATS["max_concurrent"] = max(STATS["max_concurrent"], STATS["concurrent"])
        try:
            time.sleep(float(q.get("delay", "0")))
            self.answer(int(q.get("status", "200")), q.get("body", "ok"))
        finally:
            with LOCK:
                STATS["concurrent"] -= 1


def main():
    ThreadingHTTPServer.request_queue_size = 256  # 50 clients connect at once
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
