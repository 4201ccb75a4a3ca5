"""RDS-Proxy-like listeners: one loopback port per (proxy endpoint, client
security group), opened once the endpoint is `available`, closed when it goes.

A client "stands in" a security group by dialing that group's port (the
sandbox has no instances; the port is its place in the network). Each new
connection is checked against the sandbox's live rules, as AWS's network
would: the client SG's egress and the endpoint SG's ingress on the listener
port, the endpoint's subnets shared to the proxy's account, the proxy SG's
egress and the DB SG's ingress on the database port. A closed hop drops
the connection, and the log line names it. Then the engine's protocol
(pgwire, mywire): TLS with the sandbox CA (required when the proxy has
RequireTLS), the client's credentials checked against the proxy's secrets or
an IAM token, and a session to the real database (`--databases`).

Published as GET /_kumo/listeners and listeners.json in the sandbox folder:
  {"ca_bundle": PATH, "endpoints": {DNS: {"host": "127.0.0.1", "port": 5432,
   "client_ports": {SG: PORT}, "engine_family", "proxy", "endpoint", "account"}}}
"""
import hmac
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from . import mywire, pgwire, rds_proxy, tls_ca
from .wire import Refused

# RDS Proxy listens on the engine's port (docs: "RDS Proxy uses port 5432 for
# PostgreSQL, 3306 for MySQL and 1433 for SQL Server").
LISTENER_PORT = {"POSTGRESQL": 5432, "MYSQL": 3306}
NO_CREDENTIALS = ("This RDS proxy has no credentials for the role {user}. "
                  "Check the credentials for this role and try again.")
TOKEN_LIFETIME_MAX = 900
# UserAuthConfig.ClientPasswordAuthType: "The following values are defaults for
# the corresponding engines" (RDS API reference)
DEFAULT_CLIENT_AUTH = {"POSTGRESQL": "POSTGRES_SCRAM_SHA_256", "MYSQL": "MYSQL_CACHING_SHA2_PASSWORD"}


def _log(msg):
    print(f"kumo sandbox: connect: {msg}", file=sys.stderr, flush=True)


# --- security groups ------------------------------------------------------
def _find_sg(region, sg_id):
    for account, regions in list(ec2_backends.items()):
        if region in regions.keys():
            sg = regions[region].get_security_group_from_id(sg_id)
            if sg is not None:
                return sg, regions[region]
    return None, None


def _vpc_cidr(ec2, vpc_id):
    vpc = ec2.vpcs.get(vpc_id) if ec2 else None
    if vpc is None:  # a shared VPC: its owner's backend has it
        for regions in list(ec2_backends.values()):
            # keys(): the backends that exist (indexing would create one per region)
            for backend in [regions[r] for r in list(regions.keys())]:
                if vpc_id in backend.vpcs:
                    return backend.vpcs[vpc_id].cidr_block
        return None
    return vpc.cidr_block


def _rule_allows(rules, port, peer_sg, peer_cidr):
    """Does one of `rules` let TCP `port` from/to `peer_sg` (or an address in
    `peer_cidr`, the peer's VPC) through?"""
    for r in rules:
        if r.ip_protocol not in ("-1", "tcp", "6"):
            continue
        if r.ip_protocol != "-1" and not (r.from_port is not None and r.from_port <= port <= r.to_port):
            continue
        if r.source_group and r.source_group.get("GroupId") == peer_sg:
            return True
        cidr = r.ip_range.get("CidrIp") if r.ip_range else None
        if cidr and peer_cidr:
            try:
                if ipaddress.ip_network(cidr).supernet_of(ipaddress.ip_network(peer_cidr)):
                    return True
            except ValueError:
                pass
    return False


def check_path(region, client_sg_id, ep, proxy, db, listener_port):
    """None when every hop is open, else the first closed hop, in words."""
    client, cec2 = _find_sg(region, client_sg_id)
    if client is None:
        return f"client security group {client_sg_id} no longer exists"
    client_cidr = _vpc_cidr(cec2, client.vpc_id)
    # the endpoint stands in the client's VPC: a CIDR rule covering that VPC reaches it
    if not any(_rule_allows(client.egress_rules, listener_port, sg_id, client_cidr)
               for sg_id in ep.vpc_security_group_ids):
        return (f"client SG {client_sg_id} -> endpoint: the client group's egress allows no TCP "
                f"{listener_port} to the endpoint's groups {', '.join(ep.vpc_security_group_ids)}")
    open_in = any(_rule_allows(sg.ingress_rules, listener_port, client_sg_id, client_cidr)
                  for sg in (_find_sg(region, i)[0] for i in ep.vpc_security_group_ids) if sg is not None)
    if not open_in:
        return (f"client SG {client_sg_id} -> endpoint SG {', '.join(ep.vpc_security_group_ids)}: no inbound rule "
                f"for TCP {listener_port} from {client_sg_id} (the endpoint SG's ingress)")
    pec2 = ec2_backends[proxy_account(proxy)][region]
    try:
        pec2.describe_subnets(subnet_ids=list(ep.vpc_subnet_ids))
    except InvalidSubnetIdError:
        return (f"endpoint subnets {', '.join(ep.vpc_subnet_ids)} are not shared with the proxy's account "
                f"{proxy_account(proxy)} (the RAM share)")
    if db is None:
        return "the proxy has no registered target (RegisterDBProxyTargets)"
    rds_ec2 = ec2_backends[db_account(db)][region]
    db_port = int(db.port)
    proxy_sgs = list(proxy.vpc_security_group_ids)
    db_sgs = [g.get("VpcSecurityGroupId") if isinstance(g, dict) else g for g in db.vpc_security_group_ids]
    proxy_cidr = _vpc_cidr(pec2, proxy.vpc_id)
    # a resource's groups add up: one group's rule is enough
    db_cidr = _vpc_cidr(rds_ec2, db_vpc(rds_ec2, db)) or proxy_cidr  # one VPC for both
    psgs = [g for g in (pec2.get_security_group_from_id(i) for i in proxy_sgs) if g is not None]
    if psgs and not any(_rule_allows(g.egress_rules, db_port, d, db_cidr) for g in psgs for d in db_sgs):
        return (f"proxy SG {', '.join(proxy_sgs)} -> DB SG {', '.join(db_sgs)}: the proxy groups' egress allows no "
                f"TCP {db_port} to the database")
    for dsg_id in db_sgs:
        dsg = rds_ec2.get_security_group_from_id(dsg_id)
        if dsg is None:
            continue
        if any(_rule_allows(dsg.ingress_rules, db_port, p, proxy_cidr) for p in proxy_sgs):
            return None
    return (f"proxy SG {', '.join(proxy_sgs) or '(none)'} -> DB SG {', '.join(db_sgs)}: no inbound rule for TCP "
            f"{db_port} from the proxy's group (the DB SG's ingress)")


def proxy_account(proxy):
    return proxy.arn.split(":")[4]


def db_account(db):
    return db.arn.split(":")[4]


def db_vpc(ec2, db):
    group = getattr(db, "db_subnet_group", None)
    return getattr(group, "vpc_id", None)


# --- the proxy's view of one connection ---------------------------------------
class Policy:
    """What one connection may do, read from the sandbox's state when it
    arrives (so a rule revoked a moment ago counts)."""

    def __init__(self, listeners, key):
        self.listeners = listeners
        self.key = key
        account, name, client_sg = key
        self.account, self.endpoint_name, self.client_sg = account, name, client_sg
        self.idle_timeout = None
        self.read_only = False
        self.require_tls = False
        self._db = None

    def log(self, msg):
        _log(f"{self.endpoint_name} from {self.client_sg}: {msg}")

    def load(self):
        """Read the endpoint, proxy and target; raise Refused(log=hop) when the
        network path is closed."""
        sb = self.listeners.sandbox
        with sb.gateway.moto_lock:
            backend = rds_backends[self.account][sb.region]
            ep = rds_proxy.endpoints(backend).get(self.endpoint_name)
            if ep is None or ep.status != "available":
                raise Refused("endpoint unavailable", log="the endpoint is gone or not available")
            proxy = backend.db_proxies.get(ep.db_proxy_name)
            if proxy is None or proxy.status != "available":
                raise Refused("proxy unavailable", log="the proxy is gone or not available")
            self.family = proxy.engine_family
            self.port = LISTENER_PORT[self.family]
            self.dns = ep.endpoint
            self.proxy_arn = proxy.arn
            self.region = sb.region
            self.require_tls = bool(proxy.require_tls)
            self.read_only = ep.target_role == "READ_ONLY"
            self.idle_timeout = float(proxy.idle_client_timeout or 1800)
            db = None
            for tg in proxy.proxy_target_groups.values():
                for t in tg.targets:
                    db = backend.databases.get(t.rds_resource_id) or db
            self._db = db
            hop = check_path(sb.region, self.client_sg, ep, proxy, db, self.port)
            if hop:
                raise Refused("connection dropped", log=f"connection dropped: closed hop: {hop}")
            self._auth = []
            sm = secretsmanager_backends[proxy_account(proxy)][sb.region]
            for entry in proxy.auth or []:
                arn = entry.get("SecretArn")
                try:
                    doc = json.loads(sm.get_secret_value(arn, None, None).get("SecretString") or "{}")
                except Exception:  # noqa: BLE001 - an unreadable secret registers nobody
                    continue
                if isinstance(doc, dict) and doc.get("username"):
                    self._auth.append({"user": str(doc["username"]), "password": str(doc.get("password") or ""),
                                       "iam": entry.get("IAMAuth") == "REQUIRED",
                                       "client_auth": entry.get("ClientPasswordAuthType")
                                       or DEFAULT_CLIENT_AUTH.get(proxy.engine_family)})

    def client_auth(self):
        """The greeting's plugin family (MySQL): 'sha2' unless the first auth
        entry asks for mysql_native_password."""
        first = self._auth[0]["client_auth"] if self._auth else None
        return "native" if first == "MYSQL_NATIVE_PASSWORD" else "sha2"

    def tls_context(self):
        return self.listeners.ca.context(self.dns)

    def credentials(self, user):
        for a in self._auth:
            if a["user"] == user:
                return {"db_user": a["user"], "db_password": a["password"], "password": a["password"],
                        "iam": a["iam"], "client_auth": a["client_auth"]}
        raise Refused(NO_CREDENTIALS.format(user=user),
                      log=f"refused: no secret of the proxy holds user {user!r} (RDS Proxy's message sent)")

    def check_token(self, user, token):
        problem = verify_token(token, self.dns, self.port, user, self.region, self.proxy_arn,
                               self.listeners.sandbox.gateway.moto_lock)
        if problem:
            raise Refused(f"PAM authentication failed for user \"{user}\"" if self.family == "POSTGRESQL"
                          else f"Access denied for user '{user}' (using password: YES)",
                          code="28P01" if self.family == "POSTGRESQL" else 1045,
                          log=f"refused: IAM token for {user}: {problem}")

    def backend(self):
        dbs = self.listeners.sandbox.databases
        server = dbs.get(self._db.db_instance_identifier) if (dbs and self._db) else None
        if server is None or server.port is None:
            raise Refused("RDS Proxy could not connect to the database: no real database runs behind "
                          f"{getattr(self._db, 'db_instance_identifier', 'the target')} "
                          "(start the sandbox with --databases)", code="08006" if self.family == "POSTGRESQL"
                          else 2013)
        return ("127.0.0.1", server.port)


def verify_token(token, host, port, user, region, proxy_arn, lock):
    """None when `token` is a valid `rds-db:connect` presign for `user` at
    host:port, made by a principal allowed to connect, else the reason."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from moto.iam import access_control
    from . import auth as sandbox_auth
    base, _, query = token.partition("/?")
    if not query:
        return "not an IAM auth token (host:port/?Action=connect&...)"
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if base.lower() != f"{host}:{port}".lower():
        return f"made for {base}, not for {host}:{port}"
    if q.get("Action") != "connect" or q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return "not an rds-db connect presign"
    if q.get("DBUser") != user:
        return f"made for user {q.get('DBUser')!r}, not {user!r}"
    cred = q.get("X-Amz-Credential", "").split("/")
    if len(cred) != 5 or cred[3] != "rds-db" or cred[2] != region:
        return "its credential scope is not REGION/rds-db"
    try:
        t = time.mktime(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ")) - time.timezone
        expires = int(q.get("X-Amz-Expires", "0"))
    except (KeyError, ValueError):
        return "no valid X-Amz-Date/X-Amz-Expires"
    now = time.time()
    if expires > TOKEN_LIFETIME_MAX:
        return f"X-Amz-Expires {expires} is over {TOKEN_LIFETIME_MAX} s"
    if now > t + expires:
        return f"expired {int(now - t - expires)} s ago"
    if t > now + 300:
        return "dated in the future"
    headers = {"X-Amz-Security-Token": q["X-Amz-Security-Token"]} if "X-Amz-Security-Token" in q else {}
    from moto.iam.models import get_account_id_from
    with lock:
        try:
            key = access_control.create_access_key(get_account_id_from(cred[0]), "aws", cred[0], headers)
        except Exception:  # noqa: BLE001 - moto raises its own failure types
            return f"unknown access key {cred[0]}"
        creds = key.create_credentials()
        # the canonical request of the presign as made: every parameter but the
        # signature, at the token's own X-Amz-Date (add_auth would date it now)
        signed = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k != "X-Amz-Signature"]
        req = AWSRequest(method="GET", url=f"https://{base}/?" + urllib.parse.urlencode(
            signed, quote_via=urllib.parse.quote, safe="-_.~"))
        req.context["timestamp"] = q["X-Amz-Date"]
        signer = SigV4QueryAuth(creds, "rds-db", region, expires=expires)
        want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        if not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
            return "the signature does not match (wrong secret key, or the token was altered)"
        parts = proxy_arn.split(":")
        resource = f"arn:aws:rds-db:{parts[3]}:{parts[4]}:dbuser:{parts[6]}/{user}"
        if not sandbox_auth.identity_allows(key.collect_policies(), "rds-db:connect", resource):
            return f"{key.arn} is not allowed rds-db:connect on {resource}"
    return None


# --- listeners --------------------------------------------------------------
class Listeners:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.ca = tls_ca.CA(sandbox.directory)
        self.open = {}   # key -> socket
        self.meta = {}   # dns -> published entry
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="proxy-listeners", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        with self._lock:
            for s in self.open.values():
                try:
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def snapshot(self):
        with self._lock:
            return {"ca_bundle": self.ca.bundle, "endpoints": json.loads(json.dumps(self.meta))}

    def _loop(self):
        while not self._stop.wait(0.25):
            try:
                self.reconcile()
            except Exception as e:  # noqa: BLE001 - keep serving; say why
                _log(f"listener scan failed: {e!r}")

    def _wanted(self):
        """{key: (dns, family, proxy name)} for every available endpoint and
        every security group of its VPC except the endpoint's own."""
        sb = self.sandbox
        out = {}
        with sb.gateway.moto_lock:
            for account, regions in list(rds_backends.items()):
                if sb.region not in regions.keys():
                    continue
                backend = regions[sb.region]
                for name, ep in list(rds_proxy.endpoints(backend).items()):
                    proxy = backend.db_proxies.get(ep.db_proxy_name)
                    if proxy is None or ep.status != "available" or proxy.engine_family not in LISTENER_PORT:
                        continue
                    for regions2 in list(ec2_backends.values()):
                        if sb.region not in regions2.keys():
                            continue
                        for sg in list(regions2[sb.region].describe_security_groups()):
                            if sg.vpc_id == ep.vpc_id and sg.id not in ep.vpc_security_group_ids:
                                out[(account, name, sg.id)] = (ep.endpoint, proxy.engine_family, proxy.db_proxy_name)
        return out

    def reconcile(self):
        wanted = self._wanted()
        changed = False
        with self._lock:
            for key in [k for k in self.open if k not in wanted]:
                self.open.pop(key).close()
                changed = True
            for key, (dns, family, proxy_name) in wanted.items():
                if key in self.open:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", 0))
                s.listen(64)
                self.open[key] = s
                threading.Thread(target=self._accept, args=(key, s, family), daemon=True,
                                 name=f"listener-{key[1]}-{key[2]}").start()
                changed = True
                _log(f"listening for {dns} (clients in {key[2]}) on 127.0.0.1:{s.getsockname()[1]}")
            if changed:
                meta = {}
                for (account, name, sg), s in self.open.items():
                    dns, family, proxy_name = wanted[(account, name, sg)]
                    m = meta.setdefault(dns, {"host": "127.0.0.1", "port": LISTENER_PORT[family],
                                              "engine_family": family, "proxy": proxy_name, "endpoint": name,
                                              "account": account, "client_ports": {}})
                    m["client_ports"][sg] = s.getsockname()[1]
                self.meta = meta
                self._publish()

    def _publish(self):
        if self.sandbox.directory:
            path = os.path.join(self.sandbox.directory, "listeners.json")
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"ca_bundle": self.ca.bundle, "endpoints": self.meta}, f, indent=1)
            os.replace(tmp, path)

    def _accept(self, key, s, family):
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(key, conn, family), daemon=True).start()

    def _serve(self, key, conn, family):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        policy = Policy(self, key)
        try:
            policy.load()
        except Refused as e:
            policy.log(e.log)
            # as a security group does: no answer at all (the client sees the
            # connection end before the server's first byte)
            conn.close()
            return
        t0 = time.monotonic()
        outcome = (pgwire if family == "POSTGRESQL" else mywire).session(conn, policy)
        policy.log(f"ended ({outcome}) after {time.monotonic() - t0:.2f} s")
