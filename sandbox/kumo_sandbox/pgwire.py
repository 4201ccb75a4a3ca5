"""The PostgreSQL side of the proxy listener (protocol 3.0, as far as a proxy
must go): SSLRequest and TLS, the startup message, the client's password
(cleartext inside TLS: what RDS Proxy asks for IAM tokens too), then a
session to the real server with the secret's credentials (SCRAM-SHA-256),
relayed byte for byte once both sides are authenticated.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct

from .wire import Closed, Refused, recv_exact, relay

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102


def _msg(kind, payload=b""):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def error(message, code="28000"):
    """An ErrorResponse: FATAL, with SQLSTATE `code`."""
    fields = b"SFATAL\0VFATAL\0C" + code.encode() + b"\0M" + message.encode() + b"\0\0"
    return _msg(b"E", fields)


def read_startup(sock):
    n = struct.unpack("!I", recv_exact(sock, 4))[0]
    if n < 8 or n > 10000:
        raise Closed("not a PostgreSQL startup message")
    body = recv_exact(sock, n - 4)
    return struct.unpack("!I", body[:4])[0], body[4:]


def read_msg(sock):
    head = recv_exact(sock, 5)
    n = struct.unpack("!I", head[1:])[0]
    return head[:1], recv_exact(sock, n - 4)


def parse_params(body):
    parts = body.split(b"\0")
    out = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        out[parts[i].decode()] = parts[i + 1].decode()
    return out


def _scram(sock, user, password):
    """SCRAM-SHA-256 as the client (RFC 5802/7677, channel binding off)."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n=,r={nonce}"
    first = ("n,," + first_bare).encode()
    sock.sendall(_msg(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first))
    kind, body = read_msg(sock)
    if kind == b"E":
        return kind, body
    server_first = body[4:].decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    proof = bytes(x ^ y for x, y in zip(client_key, sig))
    sock.sendall(_msg(b"p", (final_bare + ",p=" + base64.b64encode(proof).decode()).encode()))
    return read_msg(sock)


def backend_login(addr, params, user, password, read_only):
    """Open an authenticated session on the real server; return the socket
    and the messages it sent after AuthenticationOk (parameters, key data,
    ReadyForQuery), for the client."""
    sock = socket.create_connection(addr, timeout=10)
    p = dict(params, user=user)
    if read_only:
        # a READ_ONLY endpoint: the session refuses writes
        p["options"] = (p.get("options", "") + " -c default_transaction_read_only=on").strip()
    body = struct.pack("!I", PROTOCOL_3) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in p.items()) + b"\0"
    sock.sendall(struct.pack("!I", len(body) + 4) + body)
    while True:
        kind, body = read_msg(sock)
        if kind == b"E":
            sock.close()
            raise Refused(_error_text(body), code="08006", log="the database refused the secret's credentials: "
                          + _error_text(body))
        if kind != b"R":
            continue
        code = struct.unpack("!I", body[:4])[0]
        if code == 0:
            break
        if code == 10:
            kind, body = _scram(sock, user, password)
            if kind == b"E":
                continue_err = _error_text(body)
                sock.close()
                raise Refused(continue_err, code="08006", log="the database refused the secret's credentials: "
                              + continue_err)
            # SASLFinal (code 12): the next message is AuthenticationOk
            continue
        if code == 3:
            sock.sendall(_msg(b"p", password.encode() + b"\0"))
            continue
        if code == 5:
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
            sock.sendall(_msg(b"p", b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode() + b"\0"))
            continue
        sock.close()
        raise Refused(f"the database asked for authentication method {code}, which the proxy does not speak",
                      code="08006")
    rest = bytearray()
    while True:  # up to ReadyForQuery
        kind, body = read_msg(sock)
        rest += _msg(kind, body)
        if kind == b"Z":
            break
    sock.settimeout(None)
    return sock, bytes(rest)


def _error_text(body):
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return field[1:].decode("utf-8", "replace")
    return "error"


def _cleartext(sock):
    sock.sendall(_msg(b"R", struct.pack("!I", 3)))  # AuthenticationCleartextPassword
    kind, body = read_msg(sock)
    if kind != b"p":
        raise Refused("expected a password message", code="08P01")
    return body.rstrip(b"\0").decode("utf-8", "replace")


def _md5_server(sock, user, password):
    """AuthenticationMD5Password (POSTGRES_MD5): md5(md5(password + user) + salt)."""
    salt = os.urandom(4)
    sock.sendall(_msg(b"R", struct.pack("!I", 5) + salt))
    kind, body = read_msg(sock)
    if kind != b"p":
        raise Refused("expected a password message", code="08P01")
    inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
    want = b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
    return hmac.compare_digest(body.rstrip(b"\0"), want)


def _scram_server(sock, password, iterations=4096):
    """SCRAM-SHA-256 as the server (POSTGRES_SCRAM_SHA_256, RDS Proxy's default
    for PostgreSQL): the proxy holds the password, so it derives the keys from
    a fresh salt, checks the client's proof and proves itself in turn."""
    sock.sendall(_msg(b"R", struct.pack("!I", 10) + b"SCRAM-SHA-256\0\0"))
    kind, body = read_msg(sock)
    mech, _, rest = body.partition(b"\0")
    if kind != b"p" or mech != b"SCRAM-SHA-256":
        raise Refused("SCRAM-SHA-256 is the only SASL mechanism here", code="28000")
    first = rest[4:4 + struct.unpack("!i", rest[:4])[0]].decode()
    if not first.startswith(("n,,", "y,,")):
        raise Refused("SCRAM channel binding is not offered here", code="28000")
    first_bare = first[3:]
    attrs = dict(a.split("=", 1) for a in first_bare.split(",") if "=" in a)
    salt = os.urandom(16)
    nonce = attrs.get("r", "") + base64.b64encode(os.urandom(18)).decode()
    server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={iterations}"
    sock.sendall(_msg(b"R", struct.pack("!I", 11) + server_first.encode()))
    kind, body = read_msg(sock)
    final = body.decode()
    without_proof, _, proof = final.rpartition(",p=")
    if kind != b"p" or f"r={nonce}" not in without_proof.split(","):
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    auth_msg = f"{first_bare},{server_first},{without_proof}".encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    try:
        given = base64.b64decode(proof)
    except ValueError:
        return False
    recovered = bytes(x ^ y for x, y in zip(given, sig))
    if len(given) != len(sig) or not hmac.compare_digest(hashlib.sha256(recovered).digest(), stored):
        return False
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    verifier = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha256).digest()).decode()
    sock.sendall(_msg(b"R", struct.pack("!I", 12) + f"v={verifier}".encode()))
    return True


def session(sock, policy):
    """Serve one client connection. `policy` (proxy_listener.Policy) decides
    TLS, credentials, tokens, the database's address and the target role."""
    tls = False
    try:
        while True:
            code, body = read_startup(sock)
            if code == SSL_REQUEST and not tls:
                sock.sendall(b"S")
                sock = policy.tls_context().wrap_socket(sock, server_side=True)
                tls = True
                continue
            if code == GSS_REQUEST:
                sock.sendall(b"N")
                continue
            if code == CANCEL_REQUEST:
                return "cancel request (not relayed)"
            if code != PROTOCOL_3:
                raise Refused(f"unsupported frontend protocol {code >> 16}.{code & 0xffff}", code="0A000")
            break
        if policy.require_tls and not tls:
            raise Refused("This RDS Proxy requires TLS connections", code="28000",
                          log="refused: TLS is required and the client did not ask for it")
        params = parse_params(body)
        user = params.get("user", "")
        params.setdefault("database", user)
        cred = policy.credentials(user)
        wrong = Refused(f'password authentication failed for user "{user}"', code="28P01",
                        log=f"refused: wrong password for {user}")
        if cred["iam"]:
            # the token travels in clear inside TLS, as RDS Proxy asks for it
            method = "IAM token (cleartext in TLS)"
            policy.check_token(user, _cleartext(sock))
        elif cred["client_auth"] == "POSTGRES_MD5":
            method = "md5"
            if not _md5_server(sock, user, cred["password"]):
                raise wrong
        else:
            method = "SCRAM-SHA-256"
            if not _scram_server(sock, cred["password"]):
                raise wrong
        addr = policy.backend()
        keep = {k: v for k, v in params.items() if k not in ("user",)}
        db, after = backend_login(addr, keep, cred["db_user"], cred["db_password"], policy.read_only)
        sock.sendall(_msg(b"R", struct.pack("!I", 0)) + after)
        policy.log(f"session: {user} -> {addr[0]}:{addr[1]} (database {params['database']}, tls {tls}, "
                   f"client auth {method})")
        with db:
            return relay(sock, db, policy.idle_timeout)
    except Refused as e:
        policy.log(e.log)
        try:
            sock.sendall(error(e.message, e.code or "28000"))
        except OSError:
            pass
        return "refused"
    except (Closed, OSError) as e:
        policy.log(f"closed during the handshake: {e}")
        return "closed"
    finally:
        try:
            sock.close()
        except OSError:
            pass
