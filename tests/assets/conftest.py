import pytest

from tests.assets.images import media_root

__all__ = ["media_root"]


@pytest.fixture(autouse=True)
def _isolated_media(media_root: object) -> None:
    """Every asset test stores files in its own temporary directory."""
