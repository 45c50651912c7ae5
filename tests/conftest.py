import pytest
from django.test import override_settings


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_a_temporary_folder(tmp_path):
    """Each test notes audit checkpoints in its own file, and writes job files in its own folder,
    never in the data folder's."""
    with override_settings(AUDIT_CHECKPOINT_FILE=tmp_path / "audit-checkpoints.log", JOBS_DIR=tmp_path / "jobs"):
        yield
