"""A private PostgreSQL server for fault tests that restart it (bench/faults.py --db-restarts): its own data folder
and port, never the machine's cluster that other tests use. Started as the `postgres` user when we are root (the
server refuses to run as root)."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from tests.mosquitto import free_port


def _bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/%s" % name)) or [shutil.which(name)]
    if not found or not found[-1]:
        raise RuntimeError("PostgreSQL's %s not found (apt-get install postgresql)" % name)
    return found[-1]


class PostgresServer:
    """host: the address it listens on; prefix: a command it runs under (tests/netns.py: another host)."""

    def __init__(self, host="127.0.0.1", prefix=()):
        self.folder = tempfile.mkdtemp(prefix="pintu-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        self.host = host
        self.prefix = list(prefix)
        self.user = None
        if os.getuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args):
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(self.prefix + cmd, check=True, capture_output=True, cwd=self.folder)

    def start(self):
        self._run(_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        if self.host != "127.0.0.1":  # the workers connect from other hosts (a test network: trust is fine)
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host all all 0.0.0.0/0 trust\n")
        self._ctl("start")
        return self

    def _ctl(self, action):
        self._run(_bin("pg_ctl"), "-D", self.data, "-w", "-l", os.path.join(self.folder, "log"), "-o",
                  "-p %d -k %s -c listen_addresses=%s -c fsync=off" % (self.port, self.folder, self.host), action)

    def restart(self):
        self._ctl("restart")

    def stop(self):
        try:
            self._ctl("stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name="pintu"):
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def url(self, name):
        return "postgresql://postgres@%s:%d/%s" % (self.host, self.port, name)
