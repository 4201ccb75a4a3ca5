"""The sandbox process: patches moto, seeds the world, serves on loopback
with HTTP/1.1 keep-alive, stops cleanly on SIGINT/SIGTERM.
"""
import os
import secrets
import signal
import socket
import threading
import time

from . import __version__

LOOPBACK = "127.0.0.1"


def keepalive_handler():
    """werkzeug's dev server always sends `Connection: close` and drains the
    socket after each response (which would eat the next request of a
    persistent connection). This handler keeps connections open unless the
    client asks to close, and sets TCP_NODELAY (without it Nagle + delayed
    ACK cost ~40 ms per keep-alive response)."""
    import werkzeug.serving as ws

    class _NoDrainSelectors:
        EVENT_READ = 1

        class DefaultSelector:
            def register(self, *a, **k):
                pass

            def select(self, timeout=None):
                return []

            def close(self):
                pass

    ws.selectors = _NoDrainSelectors  # only werkzeug.serving's name is replaced

    class KeepAliveHandler(ws.WSGIRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def send_header(self, keyword, value):
            if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
                return
            super().send_header(keyword, value)

        def log_request(self, *a, **k):  # quiet: the statistics count requests
            pass

    return KeepAliveHandler


def _memoize_backend_for_host(dispatcher):
    """moto finds a request's backend from its host on every call by listing
    its own package folder (a stat per entry) and trying every service's URL
    patterns: about 1 ms of the sandbox's ~4.6 ms of CPU a call, under the
    dispatcher's lock (bench/parts.d/83-rollout-100: 3000 calls of a
    100-pair rollout). The answer depends on the host alone: remember it."""
    orig = dispatcher.get_backend_for_host
    memo = {}

    def get_backend_for_host(host):
        if host not in memo:
            memo[host] = orig(host)
        return memo[host]
    dispatcher.get_backend_for_host = get_backend_for_host


def _memoize_method_names():
    """moto's responses look up their own class's method names with
    inspect.getmembers on every call (to find the action's handler): a
    fixed answer per class once the sandbox's patches are installed
    (they are, before the first call). Remember it per class."""
    import moto.core.responses as responses
    orig = responses.method_names_from_class
    if getattr(orig, "_kumo_memo", False):
        return
    memo = {}

    def method_names_from_class(clazz):
        names = memo.get(clazz)
        if names is None:
            names = memo[clazz] = orig(clazz)
        return list(names)
    method_names_from_class._kumo_memo = True
    responses.method_names_from_class = method_names_from_class


class Sandbox:
    def __init__(self, region="ap-northeast-1", organization=True, org_sharing=True, fault_rules=None,
                 latency_ms=0.0, lifecycles=None, directory=None, log_requests=False, fault_seed=None,
                 allow_moto_api=False, databases=False, accounts=0, rds_accounts=0):
        self.region = region
        self.accounts = int(accounts or 0)  # --accounts N: APP accounts of the `apps` OU (seed.py)
        self.rds_accounts = int(rds_accounts or 0)  # --rds-accounts M: the `databases` OU (seed.py)
        self.organization = organization
        self.org_sharing = org_sharing and organization
        self.start_faults = list(fault_rules or [])
        self.start_latency = float(latency_ms or 0)
        self.start_seed = fault_seed
        self.allow_moto_api = bool(allow_moto_api)
        self.start_lifecycles = dict(lifecycles or {})
        self.directory = directory
        self.log_requests = log_requests
        self.with_databases = bool(databases)
        self.databases = None   # databases.Databases with --databases
        self.listeners = None   # proxy_listener.Listeners with --databases
        self.world = {}
        self.secret = None
        self.port = None
        self.started = time.monotonic()
        self.httpd = None
        self._build_lock = threading.Lock()
        # role session names unique to this run: the AWS CLI caches assumed-role
        # credentials by role, session name and external ID in ~/.aws/cli/cache,
        # and another run's cached credentials would be refused
        self.nonce = secrets.token_hex(3)

    # --- construction ---------------------------------------------------------
    def build_app(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from . import auth, ec2, faults, gateway, lifecycle, rds_db, rds_proxy, ram, secrets_manager, stats, control
        lifecycle.register_defaults(self.start_lifecycles)
        rds_proxy.install()
        rds_db.install()
        ram.install()   # before the first RAM request: the RAM Flask app reads its routes once
        from . import ram_tags
        ram_tags.install()
        from . import s3_conditional
        s3_conditional.install()  # conditional PutObject/DeleteObject, atomic as in AWS
        ec2.install()
        secrets_manager.install()
        auth.install()
        self.stats = stats.Stats()
        self.faults = faults.Faults(self.start_faults, self.start_latency, self.start_seed)
        self.start_seed = self.faults.seed  # a reset replays the same draws
        self.control = control.Control(self)
        self.dispatcher = DomainDispatcherApplication(create_backend_app)
        _memoize_backend_for_host(self.dispatcher)
        _memoize_method_names()
        self.gateway = gateway.Gateway(self.dispatcher, self)
        return self.gateway

    def warm_up(self):
        """Load the service models and build the per-service Flask apps now
        (the first RDS call would otherwise take about a second)."""
        from moto.core.responses import _get_method_urls
        from moto.core.utils import get_service_model
        services = ("rds", "ram", "ec2", "sts", "iam", "secretsmanager", "organizations")
        for s in services:
            get_service_model(s)
        _get_method_urls("ram", self.region)
        for s in services:
            backend = self.dispatcher.get_backend_for_host(f"{s}.{self.region}.amazonaws.com")
            with self.dispatcher.lock:
                if backend and backend not in self.dispatcher.app_instances:
                    self.dispatcher.app_instances[backend] = self.dispatcher.create_app(backend)

    def seed(self):
        from . import seed
        self.world, self.secret = seed.build(self.region, self.organization, self.org_sharing, self.secret,
                                             accounts=self.accounts, rds_accounts=self.rds_accounts)
        self.world["organization_mode"] = ("none" if not self.organization else
                                           "sharing-enabled" if self.org_sharing else "sharing-disabled")
        if self.port:
            self._publish()

    def _publish(self):
        from . import profiles
        for name, role in self.world.get("roles", {}).items():
            role["session_name"] = f"kumo-{name}-{self.port}-{self.nonce}"
        self.world["endpoint"] = self.endpoint
        self.world["port"] = self.port
        self.world["pid"] = os.getpid()
        if self.directory:
            self.world["dir"] = self.directory
            files = profiles.write_all(self.directory, self.world, self.secret, self.endpoint)
            self.world["files"] = files

    @property
    def endpoint(self):
        return f"http://{LOOPBACK}:{self.port}"

    def reset(self):
        from moto.moto_api._internal.models import moto_api_backend
        from . import auth, lifecycle
        # ids are deterministic only if nothing else draws from moto's random
        # generator meanwhile: let the warm-up (which may create backends) finish
        if getattr(self, "_warm", None):
            self._warm.join()
        with self._build_lock, self.gateway.moto_lock:
            sessions = _assumed_sessions()
            moto_api_backend.reset()
            auth.enforce()
            lifecycle.register_defaults(self.start_lifecycles)
            self.gateway.forget_accounts()
            self.seed()
            _restore_sessions(sessions)
            self.faults.set(self.start_faults, self.start_latency, self.start_seed)
            self.stats.reset()

    def health(self):
        return {"ok": True, "service": "kumo-sandbox", "version": __version__, "endpoint": self.endpoint,
                "port": self.port, "pid": os.getpid(), "uptime_s": round(time.monotonic() - self.started, 3),
                "region": self.region, "organization": self.world.get("organization_mode"),
                "dir": self.directory}

    # --- serving --------------------------------------------------------------
    def listen(self, port=0):
        from werkzeug.serving import make_server
        if self.with_databases:
            # the databases start while moto loads and the world is seeded
            db_thread = self.start_databases()
        app = self.build_app()
        self.seed()
        # bind first: a clear OSError instead of werkzeug's print-and-exit
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.httpd = make_server(LOOPBACK, sock.getsockname()[1], app, threaded=True,
                                 request_handler=keepalive_handler(), fd=sock.fileno())
        self.httpd.daemon_threads = True
        self.port = sock.getsockname()[1]
        self._publish()
        # ready now; building the per-service apps can go on while the first calls come in
        self._warm = threading.Thread(target=self.warm_up, name="warm-up", daemon=True)
        self._warm.start()
        if self.with_databases:
            db_thread.join()
            if db_thread.error:
                self.databases = None
                raise db_thread.error
            from . import proxy_listener
            self.listeners = proxy_listener.Listeners(self)
            self.listeners.start()
        return self.httpd

    def start_databases(self):
        """--databases: a real server per seeded DB instance (started in a
        thread: join it, then look at its `error`)."""
        import sys
        from . import databases, seed
        self.databases = databases.Databases(self.directory,
                                             lambda m: print(f"kumo sandbox: {m}", file=sys.stderr, flush=True))
        specs = [{"id": ident, "engine": engine, "username": user, "db_name": db_name}
                 for _, ident, engine, _, _, user, db_name in seed.DATABASES]
        passwords = {s["id"]: seed.password(s["id"]) for s in specs}

        def run():
            try:
                self.databases.start(specs, passwords)
            except (databases.DatabaseError, OSError) as e:
                t.error = e if isinstance(e, databases.DatabaseError) else databases.DatabaseError(str(e))
        t = threading.Thread(target=run, name="databases", daemon=True)
        t.error = None
        t.start()
        return t

    def close(self):
        """Stop what runs beside the HTTP server (listeners, databases)."""
        if self.listeners:
            self.listeners.stop()
        if self.databases:
            self.databases.stop()

    def exit_with(self, pid):
        """Shut down when process `pid` is gone (polled every 0.5 s)."""
        def watch():
            while True:
                time.sleep(0.5)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    self.httpd.shutdown()
                    return
                except PermissionError:
                    pass
        threading.Thread(target=watch, name="exit-with", daemon=True).start()

    def serve_forever(self):
        def stop(signum, frame):
            # shutdown() waits for serve_forever to return: call it from another thread
            threading.Thread(target=self.httpd.shutdown, daemon=True).start()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.httpd.server_close()
            self.close()


def _assumed_sessions():
    """Assumed-role sessions (STS records and their ASIA keys) before a reset:
    clients keep using cached session credentials across a reset, and the
    roles come back with the same names."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    out = []
    for account_id, backend in list(sts_backends.items()):
        if "aws" not in backend.keys():
            continue
        for role in list(backend["aws"].assumed_roles):
            key = iam_backends[account_id]["aws"].access_keys.get(role.access_key_id) \
                if "aws" in iam_backends[account_id].keys() else None
            out.append((account_id, role, key))
    return out


def _restore_sessions(sessions):
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    for account_id, role, key in sessions:
        sts_backends[account_id]["aws"].assumed_roles.append(role)
        if key is not None:
            iam_backends[account_id]["aws"].access_keys[role.access_key_id] = key
