"""The MySQL side of the proxy listener (client/server protocol 4.1, as far as
a proxy must go): the server greeting (the real server's capabilities and
version, with TLS added), SSLRequest and TLS, the client's
mysql_native_password answer checked against the secret's password (or an
IAM token through mysql_clear_password, as RDS Proxy asks), then a session
to the real server (MariaDB) with the secret's credentials, relayed.
"""
import hashlib
import hmac
import os
import socket
import struct

from .wire import Closed, Refused, recv_exact, relay

LONG_PASSWORD = 1
CONNECT_WITH_DB = 0x8
COMPRESS = 0x20
PROTOCOL_41 = 0x200
SSL = 0x800
SECURE_CONNECTION = 0x8000
PLUGIN_AUTH = 0x80000
CONNECT_ATTRS = 0x100000
LENENC_DATA = 0x200000
NATIVE = b"mysql_native_password"
CLEAR = b"mysql_clear_password"
SHA2 = b"caching_sha2_password"


def read_packet(sock):
    head = recv_exact(sock, 4)
    n = head[0] | head[1] << 8 | head[2] << 16
    return head[3], recv_exact(sock, n)


def packet(seq, payload):
    n = len(payload)
    return bytes([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, seq & 0xff]) + payload


def err(seq, message, errno=1045, state=b"28000"):
    return packet(seq, b"\xff" + struct.pack("<H", errno) + b"#" + state + message.encode())


def native(scramble, password):
    """mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))."""
    if not password:
        return b""
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def sha2(scramble, password):
    """caching_sha2_password's fast answer: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble)."""
    if not password:
        return b""
    h1 = hashlib.sha256(password.encode()).digest()
    h2 = hashlib.sha256(hashlib.sha256(h1).digest() + scramble).digest()
    return bytes(a ^ b for a, b in zip(h1, h2))


def _cstr(buf, i):
    j = buf.index(b"\0", i)
    return buf[i:j], j + 1


def _lenenc(buf, i):
    c = buf[i]
    if c < 0xfb:
        return c, i + 1
    if c == 0xfc:
        return struct.unpack("<H", buf[i + 1:i + 3])[0], i + 3
    if c == 0xfd:
        return int.from_bytes(buf[i + 1:i + 4], "little"), i + 4
    return struct.unpack("<Q", buf[i + 1:i + 9])[0], i + 9


def _enc_len(n):
    if n < 0xfb:
        return bytes([n])
    if n < 0x10000:
        return b"\xfc" + struct.pack("<H", n)
    return b"\xfd" + n.to_bytes(3, "little")


def parse_greeting(p):
    if p[0] != 10:
        raise Closed("the database sent no protocol-10 greeting")
    version, i = _cstr(p, 1)
    conn_id = p[i:i + 4]
    part1 = p[i + 4:i + 12]
    i += 13
    caps = struct.unpack("<H", p[i:i + 2])[0]
    charset, status = p[i + 2], p[i + 3:i + 5]
    caps |= struct.unpack("<H", p[i + 5:i + 7])[0] << 16
    alen = p[i + 7]
    ext = p[i + 14:i + 18]  # MariaDB's extended capabilities (in MySQL's filler)
    i += 18
    n2 = max(13, alen - 8)
    part2 = p[i:i + n2].rstrip(b"\0")
    plugin, _ = _cstr(p, i + n2) if caps & PLUGIN_AUTH else (NATIVE, 0)
    return {"version": version, "conn_id": conn_id, "scramble": part1 + part2, "caps": caps, "charset": charset,
            "status": status, "ext": ext, "plugin": plugin}


def greeting(g, scramble, caps, plugin=NATIVE):
    return (b"\x0a" + g["version"] + b"\0" + g["conn_id"] + scramble[:8] + b"\0" + struct.pack("<H", caps & 0xffff)
            + bytes([g["charset"]]) + g["status"] + struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 6
            + g["ext"] + scramble[8:] + b"\0" + plugin + b"\0")


def parse_response(p):
    caps = struct.unpack("<I", p[:4])[0]
    out = {"caps": caps, "max": p[4:8], "charset": p[8], "filler": p[9:32]}
    user, i = _cstr(p, 32)
    if caps & LENENC_DATA:
        n, i = _lenenc(p, i)
        auth = p[i:i + n]
        i += n
    elif caps & SECURE_CONNECTION:
        n = p[i]
        auth = p[i + 1:i + 1 + n]
        i += 1 + n
    else:
        auth, i = _cstr(p, i)
    db = None
    if caps & CONNECT_WITH_DB and i < len(p):
        db, i = _cstr(p, i)
    plugin = b""
    if caps & PLUGIN_AUTH and i < len(p):
        plugin, i = _cstr(p, i)
    attrs = p[i:] if caps & CONNECT_ATTRS else b""
    out.update(user=user.decode("utf-8", "replace"), auth=auth, db=db, plugin=plugin, attrs=attrs)
    return out


def response(r, caps, user, auth):
    out = (struct.pack("<I", caps) + r["max"] + bytes([r["charset"]]) + r["filler"] + user.encode() + b"\0"
           + _enc_len(len(auth)) + auth)
    if caps & CONNECT_WITH_DB:
        out += (r["db"] or b"") + b"\0"
    out += NATIVE + b"\0"
    if caps & CONNECT_ATTRS:
        out += r["attrs"]
    return out


def _scramble():
    # printable bytes, no NUL: clients copy the scramble as a C string
    return bytes(33 + b % 94 for b in os.urandom(20))


def _switch(sock, seq, plugin, data):
    """AuthSwitchRequest; return the client's answer and the next sequence id."""
    sock.sendall(packet(seq, b"\xfe" + plugin + b"\0" + data + (b"\0" if plugin in (NATIVE, SHA2) else b"")))
    seq, answer = read_packet(sock)
    return answer, seq + 1


def backend_login(addr, r, caps, user, password, read_only):
    """Log in to the real server; return the socket and its OK payload."""
    sock = socket.create_connection(addr, timeout=10)
    _, p = read_packet(sock)
    if p[:1] == b"\xff":
        raise Refused(p[9:].decode("utf-8", "replace"), code=2013)
    g = parse_greeting(p)
    caps &= g["caps"]
    sock.sendall(packet(1, response(r, caps, user, native(g["scramble"], password))))
    while True:
        seq, p = read_packet(sock)
        if p[:1] == b"\x00":
            break
        if p[:1] == b"\xff":
            sock.close()
            text = p[9:].decode("utf-8", "replace")
            raise Refused(text, code=1045, log="the database refused the secret's credentials: " + text)
        if p[:1] == b"\xfe":  # auth switch
            plugin, i = _cstr(p, 1)
            data = p[i:].rstrip(b"\0")
            answer = native(data, password) if plugin == NATIVE else password.encode() + b"\0"
            sock.sendall(packet(seq + 1, answer))
            continue
        sock.close()
        raise Refused("unexpected answer from the database during login", code=2013)
    if read_only:
        sock.sendall(packet(0, b"\x03SET SESSION TRANSACTION READ ONLY"))
        _, q = read_packet(sock)
        if q[:1] != b"\x00":
            sock.close()
            raise Refused("the database refused a read-only session", code=1045)
    sock.settimeout(None)
    return sock, p, g


def session(sock, policy):
    """Serve one client connection (see pgwire.session)."""
    seq = 0
    tls = False
    db = None
    try:
        addr = policy.backend()
        # the greeting comes first in MySQL: open the database session now, so
        # that the client sees the real server's version and capabilities
        probe = socket.create_connection(addr, timeout=10)
        try:
            _, p = read_packet(probe)
        finally:
            probe.close()
        if p[:1] == b"\xff":
            raise Refused(p[9:].decode("utf-8", "replace"), code=2013)
        g = parse_greeting(p)
        scramble = _scramble()
        caps = (g["caps"] | SSL | PLUGIN_AUTH | SECURE_CONNECTION | PROTOCOL_41) & ~COMPRESS
        # the greeting names a plugin before the user is known: the proxy's first
        # auth entry's, as RDS Proxy has one client auth type per proxy in practice
        sock.sendall(packet(0, greeting(g, scramble, caps, SHA2 if policy.client_auth() == "sha2" else NATIVE)))
        seq, p = read_packet(sock)
        if len(p) == 32 and struct.unpack("<I", p[:4])[0] & SSL:
            sock = policy.tls_context().wrap_socket(sock, server_side=True)
            tls = True
            seq, p = read_packet(sock)
        seq += 1
        if policy.require_tls and not tls:
            raise Refused("This RDS Proxy requires TLS connections", code=1045,
                          log="refused: TLS is required and the client did not ask for it")
        r = parse_response(p)
        user = r["user"]
        cred = policy.credentials(user)
        auth, plugin = r["auth"], r["plugin"] or NATIVE
        if cred["iam"]:
            # the token travels in clear text inside TLS (the client needs
            # --enable-cleartext-plugin, as with RDS Proxy)
            method = "IAM token (mysql_clear_password in TLS)"
            if plugin != CLEAR:
                auth, seq = _switch(sock, seq, CLEAR, b"")
            policy.check_token(user, auth.rstrip(b"\0").decode("utf-8", "replace"))
        else:
            want_plugin, check = ((SHA2, sha2) if cred["client_auth"] == "MYSQL_CACHING_SHA2_PASSWORD"
                                  else (NATIVE, native))
            method = want_plugin.decode()
            if plugin != want_plugin:
                auth, seq = _switch(sock, seq, want_plugin, scramble)
            if not hmac.compare_digest(auth, check(scramble, cred["password"])):
                raise Refused(f"Access denied for user '{user}' (using password: {'YES' if auth else 'NO'})",
                              code=1045, log=f"refused: wrong password for {user}")
            if want_plugin == SHA2:
                # AuthMoreData "fast authentication succeeded": the OK follows
                sock.sendall(packet(seq, b"\x01\x03"))
                seq += 1
        keep = r["caps"] & ~(SSL | COMPRESS)
        db, ok, _ = backend_login(addr, r, keep, cred["db_user"], cred["db_password"], policy.read_only)
        sock.sendall(packet(seq, ok))
        policy.log(f"session: {user} -> {addr[0]}:{addr[1]} (database {(r['db'] or b'').decode()}, tls {tls}, "
                   f"client auth {method})")
        return relay(sock, db, policy.idle_timeout)
    except Refused as e:
        policy.log(e.log)
        try:
            sock.sendall(err(seq, e.message, e.code or 1045))
        except OSError:
            pass
        return "refused"
    except (Closed, OSError, ValueError, IndexError) as e:
        policy.log(f"closed during the handshake: {e}")
        return "closed"
    finally:
        for s in (sock, db):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
