import pytest
from django.test import override_settings


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_a_temporary_folder(tmp_path):
    """Each test notes audit checkpoints in its own file, never in the data folder's."""
    with override_settings(AUDIT_CHECKPOINT_FILE=tmp_path / "audit-checkpoints.log"):
        yield
