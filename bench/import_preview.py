"""Time the project import's upload request, and the preview job it starts, on a .qdpx.

    DATA_DIR=$(mktemp -d) python bench/import_preview.py FILE.qdpx [RUNS]   (from the checkout's root)

Runs against a fresh SQLite database in DATA_DIR. Each run posts FILE to the upload page as a
logged-in user who may start projects and times the request; when the request queued a preview
job (302), `manage.py db_worker --batch` then runs it in a process of its own, timed, with that
process's peak memory. Before the preview became a job the request itself answered with it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path.cwd()  # run from the checkout to measure
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peercoding.settings")
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]

from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402


def main() -> None:
    path, runs = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-importer")
    user.user_permissions.add(Permission.objects.get(codename="start_project"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    data = path.read_bytes()
    for run in range(1, runs + 1):
        started = time.perf_counter()
        response = client.post("/projects/new/import/", {"file": SimpleUploadedFile(path.name, data)}, secure=True)
        request_s = time.perf_counter() - started
        line = f"run {run}: upload request {request_s:.2f} s (status {response.status_code})"
        if response.status_code == 302:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--verbosity", "0"],
                cwd=ROOT, check=True,
            )
            job_s = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            page = client.get(response["Location"], secure=True)
            shown = b"project-import-preview" in page.content
            line += f"; preview job {job_s:.1f} s in its worker, worker peak {peak:.0f} MB; preview shown: {shown}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
