"""A takedown deletes the video and poster from S3 (moto's real S3 server), keeps them in quarantine for the appeal
window, and an overturn puts them back; a hidden video gets no presigned URL for members."""

from __future__ import annotations

import httpx
import pytest
from django.core.files.storage import default_storage

from studio.files import signed_url
from studio.moderation.models import Source
from studio.moderation.services import Decision, appeal_decide, appeal_file, case_decide, signal_add
from tests.moderation.conftest import delivered_job
from tests.storage.test_s3 import moto_endpoint, s3_storage  # noqa: F401 - the moto fixtures

pytestmark = pytest.mark.django_db


def test_takedown_on_s3_deletes_the_files_and_an_overturn_restores_them(s3_storage, world):  # noqa: F811
    from tests.factories import UserFactory

    first = UserFactory(email="a@staff.example.com", is_staff=True)
    second = UserFactory(email="b@staff.example.com", is_staff=True)
    job = delivered_job(world)
    names = [job.output.name, job.poster.name]
    assert all(default_storage.exists(n) for n in names)
    assert httpx.get(signed_url(job.output.name)).status_code == 200
    case = signal_add(job=job, source=Source.PROVIDER_NSFW, detail="flagged")
    assert signed_url(job.output.name) == ""  # hidden: members get no presigned URL
    assert httpx.get(signed_url(job.output.name, staff=True)).status_code == 200
    case = case_decide(case=case, version=case.version, reviewer=first, decision=Decision.TAKE_DOWN, reason="no")
    for name in names:
        assert not default_storage.exists(name)
        assert default_storage.exists(f"quarantine/{name}")
    appeal_file(strike=case.strike, user=world.member, message="please")
    case.refresh_from_db()
    appeal_decide(case=case, version=case.version, reviewer=second, overturn=True, reason="fine")
    job.refresh_from_db()
    assert [job.output.name, job.poster.name] == names
    for name in names:
        assert default_storage.exists(name)
        assert not default_storage.exists(f"quarantine/{name}")
    assert httpx.get(signed_url(job.output.name)).content == b"\x00\x00\x00\x18ftypmp42"
