"""Real databases behind the seeded DB instances (`kumo sandbox --databases`).

Each seeded instance becomes a real server on loopback, with the seed's
master user and password and database name: PostgreSQL 15 for the
`postgres` engine, MariaDB 10.11 for `mysql` (Debian ships MariaDB, not
MySQL; both speak the MySQL protocol the proxy listener relays). They start
with the sandbox, from an empty data folder, and stop with it.

PostgreSQL refuses to run as root: when the sandbox runs as root, initdb and
postgres run as the `postgres` user, and the data goes where that
user can reach it (the sandbox folder if its path is open to it, else a
private folder under /tmp named in databases.json). MariaDB runs as the
sandbox's own user (`--user=root` says so explicitly, as it demands).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
READY_SECONDS = 30


class DatabaseError(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, what, log):
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DatabaseError(f"{what} exited with status {proc.returncode} while starting; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise DatabaseError(f"{what} was not listening on 127.0.0.1:{port} after {READY_SECONDS} s; see {log}")


def _as_root():
    return os.geteuid() == 0


def _as_user(user):
    """Popen arguments that run a command as `user` when we are root (the
    process itself, not a runuser in between: signals reach the server)."""
    if user and _as_root():
        return {"user": user, "group": user, "extra_groups": []}
    return {}


def _run(cmd, log, what, user=None):
    with open(log, "ab") as out:
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **_as_user(user))
    if r.returncode != 0:
        raise DatabaseError(f"{what} failed (exit {r.returncode}); see {log}")


def _reachable_by(user, path):
    r = subprocess.run(["test", "-x", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       **_as_user(user))
    return r.returncode == 0


class Server:
    """One running database: engine, port, process, folder."""

    def __init__(self, ident, engine, user, password, db_name, folder):
        self.id, self.engine, self.user, self.db_name = ident, engine, user, db_name
        self._password = password
        self.folder = folder
        self.port = None
        self.proc = None
        self.version = None
        self.log = os.path.join(folder, "server.log")

    def view(self):
        return {"id": self.id, "engine": self.engine, "host": "127.0.0.1", "port": self.port,
                "pid": self.proc.pid if self.proc else None,
                "version": self.version, "folder": self.folder, "log": self.log,
                "running": self.proc is not None and self.proc.poll() is None}

    # --- PostgreSQL ---------------------------------------------------------
    def _start_postgres(self):
        data = os.path.join(self.folder, "data")
        sock = os.path.join(self.folder, "run")
        os.makedirs(sock, exist_ok=True)
        pwfile = os.path.join(self.folder, "pwfile")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._password + "\n")
        if _as_root():
            shutil.chown(self.folder, "postgres", "postgres")
            for p in (sock, pwfile):
                shutil.chown(p, "postgres", "postgres")
        try:
            # local (Unix socket, in this private folder): trust, for the sandbox's
            # own setup; TCP: SCRAM, as RDS does
            _run([f"{PG_BIN}/initdb", "-D", data, "-U", self.user, f"--pwfile={pwfile}", "-E", "UTF8",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"],
                 self.log, f"initdb for {self.id}", user="postgres")
        finally:
            os.unlink(pwfile)
        self.port = free_port()
        cmd = [f"{PG_BIN}/postgres", "-D", data, "-p", str(self.port), "-k", sock,
               "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
               "-c", "synchronous_commit=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40"]
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, **_as_user("postgres"))
        out.close()
        _wait_port(self.port, self.proc, f"postgres for {self.id}", self.log)
        psql = [f"{PG_BIN}/psql", "-h", sock, "-p", str(self.port), "-U", self.user, "-d", "postgres",
                "-v", "ON_ERROR_STOP=1", "-qAt"]
        deadline = time.monotonic() + READY_SECONDS
        while True:  # the port opens a moment before connections are accepted
            r = subprocess.run(psql + ["-c", "SELECT 1"], capture_output=True)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        _run(psql + ["-c", f'CREATE DATABASE "{self.db_name}"'], self.log, f"CREATE DATABASE on {self.id}")
        r = subprocess.run(psql + ["-c", "SHOW server_version"], capture_output=True, text=True)
        self.version = "PostgreSQL " + r.stdout.strip().split()[0] if r.returncode == 0 else "PostgreSQL"

    # --- MariaDB --------------------------------------------------------------
    def _start_mariadb(self):
        data = os.path.join(self.folder, "data")
        user = ["--user=root"] if _as_root() else []
        _run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=socket",
              "--skip-test-db"] + user, self.log, f"mariadb-install-db for {self.id}")
        init = os.path.join(self.folder, "init.sql")
        fd = os.open(init, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        pw = self._password.replace("\\", "\\\\").replace("'", "\\'")
        with os.fdopen(fd, "w") as f:
            f.write(f"CREATE USER IF NOT EXISTS '{self.user}'@'%' IDENTIFIED BY '{pw}';\n"
                    f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'%' WITH GRANT OPTION;\n"
                    f"CREATE DATABASE IF NOT EXISTS `{self.db_name}`;\n")
        self.port = free_port()
        cmd = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--port={self.port}", "--bind-address=127.0.0.1",
               f"--socket={os.path.join(self.folder, 'mysqld.sock')}",
               f"--pid-file={os.path.join(self.folder, 'mysqld.pid')}", f"--init-file={init}",
               "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
               "--innodb-log-file-size=8M", "--performance-schema=OFF", "--max-connections=40"] + user
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        out.close()
        try:
            _wait_port(self.port, self.proc, f"mariadbd for {self.id}", self.log)
            # the port opens before the init file runs; "ready for connections" comes after it
            deadline = time.monotonic() + READY_SECONDS
            while b"ready for connections" not in open(self.log, "rb").read():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise DatabaseError(f"mariadbd for {self.id} did not become ready; see {self.log}")
                time.sleep(0.05)
        finally:
            # the init file holds the password: gone once the server has read it
            try:
                os.unlink(init)
            except OSError:
                pass
        r = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True)
        words = r.stdout.split()
        self.version = "MariaDB " + (words[2].split("-")[0] if len(words) > 2 else "")

    def start(self):
        if os.path.exists(self.folder):
            shutil.rmtree(self.folder)
        os.makedirs(self.folder, mode=0o700)
        if self.engine.startswith("postgres"):
            self._start_postgres()
        else:
            self._start_mariadb()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        # PostgreSQL: SIGINT is the fast shutdown; MariaDB shuts down on SIGTERM
        self.proc.send_signal(2 if self.engine.startswith("postgres") else 15)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(5)


class Databases:
    """The real servers of the seeded instances, keyed by DB instance identifier."""

    def __init__(self, directory, log=None):
        self.directory = directory
        self.log = log or (lambda msg: None)
        self.servers = {}
        self.root = None
        self._tmp = None

    def _root(self):
        base = os.path.join(self.directory or tempfile.gettempdir(), "databases")
        # 0711: the postgres user may pass through to its own 0700 folder
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o711)
        if _as_root() and not _reachable_by("postgres", base):
            # the sandbox folder's path is closed to the postgres user (mktemp -d
            # makes 0700 folders): a private folder of its own instead
            self._tmp = tempfile.mkdtemp(prefix="kumo-databases-")
            os.chmod(self._tmp, 0o711)
            return self._tmp
        return base

    def _stop_leftovers(self):
        """Servers of an earlier sandbox in this folder that was killed (SIGKILL
        leaves no time to stop them): found by the pids in its databases.json,
        ended if their command line still names their folder."""
        try:
            with open(os.path.join(self.directory, "databases.json")) as f:
                old = json.load(f)
        except (OSError, ValueError, TypeError):
            return
        for server in (old.get("servers") or {}).values():
            pid, folder = server.get("pid"), server.get("folder")
            try:
                with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
                    cmdline = f.read()
            except (OSError, TypeError, ValueError):
                continue
            if folder and folder.encode() in cmdline:
                self.log(f"databases: stopping {server.get('id')} (pid {pid}) left by an earlier sandbox")
                try:
                    # PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for its clients)
                    os.kill(int(pid), 2 if str(server.get("engine", "")).startswith("postgres") else 15)
                except OSError:
                    continue
                deadline = time.monotonic() + 10
                while os.path.exists(f"/proc/{int(pid)}") and time.monotonic() < deadline:
                    time.sleep(0.05)

    def start(self, specs, passwords):
        """Start one server per seeded database (`specs`: id, engine, username,
        db_name); `passwords` maps identifier to the master password (the seed's)."""
        t0 = time.monotonic()
        if self.directory:
            self._stop_leftovers()
        self.root = self._root()
        errors = []
        threads = []
        for db in specs:
            s = Server(db["id"], db["engine"], db["username"], passwords[db["id"]], db["db_name"],
                       os.path.join(self.root, db["id"]))
            self.servers[db["id"]] = s

            def go(server=s):
                try:
                    server.start()
                except (DatabaseError, OSError) as e:
                    errors.append(str(e))
            threads.append(threading.Thread(target=go, name=f"db-{db['id']}"))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise DatabaseError("; ".join(errors))
        self._publish()
        self.log(f"databases: {', '.join(f'{s.id} ({s.version}) on 127.0.0.1:{s.port}' for s in self.servers.values())}"
                 f" ready in {time.monotonic() - t0:.1f} s")

    def _publish(self):
        if self.directory:
            with open(os.path.join(self.directory, "databases.json"), "w") as f:
                json.dump(self.snapshot(), f, indent=1)

    def snapshot(self):
        return {"folder": self.root, "servers": {k: s.view() for k, s in self.servers.items()}}

    def get(self, ident):
        return self.servers.get(ident)

    def stop(self):
        for s in self.servers.values():
            s.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
