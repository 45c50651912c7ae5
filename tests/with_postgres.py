"""Run a command against a throwaway PostgreSQL cluster, then remove the cluster.

    python tests/with_postgres.py -- python -m pytest

initdb makes a cluster in a temporary folder; pg_ctl starts it on a free loopback port with
its socket in that folder; the command runs with DATABASE_URL pointing at it; the cluster is
stopped and deleted afterwards, also when the command fails or is interrupted. PostgreSQL
refuses to run as root, so as root the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def find_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = shutil.which(name)
    if candidates:
        return candidates[0]
    if found:
        return found
    sys.exit(f"{name} was not found: install PostgreSQL's server programs (Debian: apt-get install postgresql).")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_owner(command: list[str], owner: pwd.struct_passwd | None) -> list[str]:
    if owner is None:
        return command
    return ["runuser", "-u", owner.pw_name, "--", *command]


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.exit("usage: with_postgres.py -- COMMAND [ARGS...]")
    command = argv[argv.index("--") + 1 :]
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    base = Path(tempfile.mkdtemp(prefix="peercoding-pg-"))
    data, run = base / "data", base / "run"
    run.mkdir()
    if owner is not None:
        for path in (base, run):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = base / "server.log"
    started = False
    try:
        subprocess.run(
            as_owner(
                [initdb, "-D", str(data), "-U", "peercoding", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                owner,
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={run} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 "
            # Each test's rows live in a transaction that is rolled back, so statistics gathered in
            # the background describe data no test sees; without them the planner's choices stay
            # the same from run to run. A slow statement is logged and shown at the end.
            "-c autovacuum=off -c jit=off -c log_min_duration_statement=2000"
        )
        subprocess.run(
            as_owner([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"], owner),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        started = True
        env = dict(os.environ, DATABASE_URL=f"postgres://peercoding@127.0.0.1:{port}/postgres")
        print(f"PostgreSQL is running on 127.0.0.1:{port} (data in {data})", flush=True)
        process = subprocess.Popen(command, env=env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()
    finally:
        slow = [line for line in log.read_text(errors="replace").splitlines() if "duration:" in line] if log.exists() else []
        if slow:
            print(f"PostgreSQL logged {len(slow)} statements slower than 2 s:", *slow[:5], sep="\n", flush=True)
        if started:
            subprocess.run(
                as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], owner),
                stdout=subprocess.DEVNULL,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
