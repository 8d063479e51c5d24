"""Issue 13 finding 1 at full size, for `make bench` (in `make test` it runs once, untimed).

The reported request: twenty copies of a 131 KB, 39.9-megapixel PNG in one upload. Measured here through the real
upload service with the production budgets: the copies are recognised by hash, so one decode serves all twenty; a
batch of twenty *distinct* such files decodes only what the request budget allows and refuses the rest with 413.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from studio.assets import services
from studio.assets.budget import PixelBudget
from studio.assets.services import UploadStatus
from tests.assets.images import media_root, upload
from tests.factories import MembershipFactory, TeamFactory, UserFactory

__all__ = ["media_root"]
SIDE = (7300, 5466)  # 39.9 megapixels, as in the report


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", SIDE, shade).save(out, "PNG")
    return out.getvalue()


def _batch(team: Any, user: Any, contents: list[bytes]) -> list[services.UploadOutcome]:
    budget = PixelBudget(user_id=user.pk)
    return [
        services.asset_upload(
            team=team, user=user, uploaded_file=upload(f"{n}.png", c), filename=f"{n}.png", budget=budget
        )
        for n, c in enumerate(contents)
    ]


@pytest.mark.django_db
def test_twenty_copies_of_a_40_megapixel_png(benchmark, media_root: Any, settings: Any) -> None:
    settings.ASSET_PIXEL_BUDGET_PER_USER = 10**12  # measure the request, not the user's window
    content = _png(9)
    user = UserFactory()
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role="owner")

    def run() -> list[services.UploadOutcome]:
        from studio.assets.models import Asset

        Asset.objects.filter(team=team).delete()
        return _batch(team, user, [content] * 20)

    outcomes = benchmark.pedantic(run, rounds=1, iterations=1)
    assert [o.status for o in outcomes].count(UploadStatus.REUSED) == 19
    benchmark.extra_info["file_bytes"] = len(content)


@pytest.mark.django_db
def test_twenty_distinct_40_megapixel_pngs(benchmark, media_root: Any, settings: Any) -> None:
    settings.ASSET_PIXEL_BUDGET_PER_USER = 10**12
    contents = [_png(n) for n in range(20)]
    user = UserFactory()
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role="owner")
    outcomes = benchmark.pedantic(_batch, args=(team, user, contents), rounds=1, iterations=1)
    decoded = sum(o.status == UploadStatus.ACCEPTED for o in outcomes)
    assert decoded * 39.9e6 <= settings.ASSET_PIXEL_BUDGET_PER_REQUEST
    assert all(o.http_status == 413 for o in outcomes if o.status == UploadStatus.REJECTED)
    benchmark.extra_info["decoded"] = decoded
