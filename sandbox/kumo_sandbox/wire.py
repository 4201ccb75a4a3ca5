"""What the PostgreSQL and MySQL sides of the proxy listener share: exact
reads, the refusal a session ends with, and the byte relay once both ends
are authenticated."""
import selectors
import ssl


class Refused(Exception):
    """The session ends with this message to the client (and in the log)."""

    def __init__(self, message, code=None, log=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.log = log or message


class Closed(Exception):
    """The peer went away mid-handshake."""


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise Closed("the peer closed the connection")
        buf += chunk
    return bytes(buf)


def relay(a, b, idle_timeout=None):
    """Copy bytes both ways until one side closes (TLS sockets included: the
    bytes OpenSSL already decrypted are drained before waiting again)."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            ready = [(s, s is a and b or a) for s in (a, b) if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                events = sel.select(idle_timeout)
                if not events:
                    return "idle"
                ready = [(k.fileobj, k.data) for k, _ in events]
            for src, dst in ready:
                try:
                    data = src.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    return "reset"
                if not data:
                    return "closed"
                try:
                    dst.sendall(data)
                except OSError:
                    return "reset"
    finally:
        sel.close()
