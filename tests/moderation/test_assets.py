"""Reference assets under moderation: a member's report from the asset's page, the staff queue and case page, a
takedown (the image and thumbnail quarantined, the asset out of the team's library, pickers and API, refused as a
reference, kept from deletion), the uploader's appeal and its overturn, and what an asset decision never moves
(money)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from billing.models import Hold, LedgerTransaction
from generations.models import GenerationJob
from generations.services.jobs import generation_preview
from generations.services.requests import JobRequest, ReferenceInput
from generations.validation import SpecValidationError
from studio.assets.models import Asset
from studio.assets.selectors import asset_list, picker_assets
from studio.assets.services import UploadStatus, asset_upload
from studio.audit.models import AuditAction, AuditEvent
from studio.files import signed_url
from studio.moderation.models import Case, CaseState, Source, Strike
from studio.moderation.services import (
    Decision,
    appeal_decide,
    asset_report_submit,
    case_decide,
    taken_down_asset_ids,
)
from studio.notifications.models import Notification
from studio.projects.selectors import pinned_assets
from tests.api.conftest import assert_error
from tests.api.test_contract import r2v
from tests.assets.images import image_bytes, make_asset, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewers(db):
    return (
        UserFactory(email="rita.reviewer@example.com", is_staff=True),
        UserFactory(email="sam.reviewer@example.com", is_staff=True),
    )


def _detail(asset) -> str:
    return reverse("assets:detail", kwargs={"pk": asset.pk})


def _report(world, asset, *, user=None, reason="This is someone else's photograph."):
    url = reverse("moderation:report-asset", kwargs={"pk": asset.pk})
    return world.client_for(user or world.member).post(url, {"reason": reason}, follow=True)


def _take_down(asset, reviewer, *, reporter, reason="A copyrighted photograph."):
    case = asset_report_submit(user=reporter, asset=asset, reason="Not ours to use.")
    return case_decide(case=case, version=case.version, reviewer=reviewer, decision=Decision.TAKE_DOWN, reason=reason)


def test_a_member_reports_an_asset_from_its_page_and_a_reviewer_sees_it_in_the_queue(world, reviewers, media_root):
    asset = make_asset(world.team, world.owner, name="Beach photo")
    member = world.client_for(world.member)
    assert "Report this asset" in member.get(_detail(asset)).content.decode()

    response = _report(world, asset)
    assert "a reviewer will look at this asset" in response.content.decode()
    case = Case.objects.get(asset=asset)
    assert case.job_id is None and case.team == world.team and case.creator == world.owner  # the uploader
    assert case.state == CaseState.OPEN and not case.hidden  # a report alone hides nothing
    assert [signal.source for signal in case.signals.all()] == [Source.MEMBER_REPORT]

    _report(world, asset)  # the same member again adds nothing
    assert case.signals.count() == 1
    assert "You reported this asset" in member.get(_detail(asset)).content.decode()
    _report(world, asset, user=world.viewer)  # anyone who may see the asset may report it
    assert case.signals.count() == 2

    staff = world.client_for(reviewers[0])
    queue = staff.get(reverse("moderation:queue")).content.decode()
    assert "Beach photo" in queue and f"@{asset.ref_name}" in queue
    page = staff.get(reverse("moderation:case", kwargs={"pk": case.pk})).content.decode()
    assert "Reference asset" in page and "alice@example.com" in page
    assert "Refund the charge" not in page  # an asset costs nothing: no money choice
    image = page.split('<div class="preview"><img src="')[1].split('"')[0]
    assert staff.get(image).status_code == 200


@pytest.mark.parametrize("reason", ["", "   ", "tab\x00nul", "x" * 1001])
def test_a_bad_report_is_refused_with_a_message_and_changes_nothing(world, media_root, reason):
    asset = make_asset(world.team, world.owner)
    response = _report(world, asset, reason=reason)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Say what is wrong with this image." in page or "at most 1000 characters" in page
    assert not Case.objects.exists()


def test_outsiders_cannot_report_another_teams_asset(world, media_root):
    asset = make_asset(world.team, world.owner)
    response = world.client_for(world.outsider).post(
        reverse("moderation:report-asset", kwargs={"pk": asset.pk}), {"reason": "spam"}
    )
    assert response.status_code == 404
    assert not Case.objects.exists()


def test_a_takedown_quarantines_the_image_hides_the_asset_and_refuses_it_as_a_reference(
    world, reviewers, media_root, django_capture_on_commit_callbacks
):
    asset = make_asset(world.team, world.owner, name="Beach photo")
    other = make_asset(world.team, world.owner, name="Forest photo", filename="forest.png")
    file_name, thumb_name = asset.file.name, asset.thumbnail.name
    old_url = signed_url(file_name)  # a link minted while the asset was visible
    member = world.client_for(world.member)
    assert member.get(old_url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        case = _take_down(asset, reviewers[0], reporter=world.member)
    asset.refresh_from_db()
    assert case.state == CaseState.TAKEN_DOWN and case.hidden and case.charge_outcome == ""
    assert sorted(case.quarantine) == ["file", "thumbnail"]
    for name in (file_name, thumb_name):
        assert not default_storage.exists(name) and default_storage.exists(f"quarantine/{name}")
    assert asset.file.name == "" and asset.thumbnail.name == ""
    strike = Strike.objects.get(case=case)
    assert strike.user == world.owner and strike.decided_by == reviewers[0]

    # Out of the team's library and pickers; the old link no longer serves the image.
    assert list(asset_list(team=world.team)) == [other]
    assert list(asset_list(team=world.team, retired=True)) == []
    assert list(picker_assets(team_id=world.team.pk)) == [other]
    library = member.get(reverse("assets:list")).content.decode()
    assert "Forest photo" in library and "Beach photo" not in library
    assert member.get(old_url).status_code == 404

    # Its page says why; only the uploader may appeal; no one may delete it while the record matters.
    page = member.get(_detail(asset)).content.decode()
    assert "This asset was taken down" in page and "A copyrighted photograph." in page
    assert "The image was taken down." in page and "Report this asset" not in page
    assert "Appeal this decision" not in page and "Only the uploader may appeal, until" in page
    assert "Appeal this decision" in world.client_for(world.owner).get(_detail(asset)).content.decode()
    response = world.client_for(world.owner).post(reverse("assets:delete", kwargs={"pk": asset.pk}), follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Asset.objects.filter(pk=asset.pk).exists() and Case.objects.filter(pk=case.pk).exists()

    # The uploader and the team's admins are told, with a link to the asset's page; the decision is audited.
    notice = Notification.objects.get(user=world.owner, kind="moderation")
    assert notice.url.startswith(_detail(asset)) and "Your asset was taken down" in notice.message
    assert Notification.objects.filter(user=world.admin, kind="moderation").exists()
    assert AuditEvent.objects.filter(action=AuditAction.MODERATION_DECISION).count() == 1

    # New videos refuse it, with a message that names it; nothing was held.
    request = JobRequest(mode="i2v", prompt="the sea moves", references=(ReferenceInput(asset=asset),))
    with pytest.raises(SpecValidationError) as refused:
        generation_preview(user=world.member, project=world.project, request=request)
    assert f"@{asset.ref_name} was taken down by moderation" in str(refused.value)
    assert LedgerTransaction.objects.count() == 0 and Hold.objects.count() == 0


def test_the_uploader_appeals_and_an_overturn_restores_the_asset(world, reviewers, media_root):
    asset = make_asset(world.team, world.owner, name="Beach photo")
    file_name = asset.file.name
    case = _take_down(asset, reviewers[0], reporter=world.member)
    strike = Strike.objects.get(case=case)

    owner = world.client_for(world.owner)
    response = owner.post(
        reverse("moderation:appeal", kwargs={"pk": strike.pk}), {"message": "It is our own photo."}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(_detail(asset))
    case.refresh_from_db()
    assert case.state == CaseState.APPEALED and case.hidden  # still down while the appeal waits

    case = appeal_decide(case=case, version=case.version, reviewer=reviewers[1], overturn=True, reason="Licensed.")
    asset.refresh_from_db()
    strike.refresh_from_db()
    assert case.state == CaseState.APPROVED and not case.hidden and case.quarantine == {}
    assert strike.overturned_at is not None
    assert asset.file.name == file_name and default_storage.exists(file_name)
    assert not default_storage.exists(f"quarantine/{file_name}")
    assert list(asset_list(team=world.team)) == [asset]
    assert taken_down_asset_ids([asset.pk]) == set()
    page = owner.get(_detail(asset)).content.decode()
    assert "overturned on appeal" in page and "This asset was taken down" not in page
    assert "the asset is back" in Notification.objects.filter(user=world.owner).latest("pk").message
    # The decision is over: the asset can be deleted again.
    owner.post(reverse("assets:delete", kwargs={"pk": asset.pk}))
    assert not Asset.objects.filter(pk=asset.pk).exists()


def test_an_approved_report_leaves_the_asset_where_it_was_and_strikes_no_one(world, reviewers, media_root):
    asset = make_asset(world.team, world.owner)
    case = asset_report_submit(user=world.member, asset=asset, reason="Looks off.")
    case = case_decide(case=case, version=case.version, reviewer=reviewers[0], decision=Decision.DISMISS)
    asset.refresh_from_db()
    assert case.state == CaseState.DISMISSED and not case.hidden
    assert default_storage.exists(asset.file.name)
    assert not Strike.objects.exists()
    assert list(picker_assets(team_id=world.team.pk)) == [asset]


def test_the_api_leaves_a_taken_down_asset_out_and_refuses_it_in_a_generation(apis, world, pipeline, reviewers):
    _take_down(pipeline.cat, reviewers[0], reporter=world.member)
    ids = {item["id"] for item in apis.member.get("/assets").json()["items"]}
    assert pipeline.cat.pk not in ids and pipeline.park.pk in ids
    # Asked for by id (a client that kept it), it says so, with no image link; its neighbour is unchanged.
    down = apis.member.get(f"/assets/{pipeline.cat.pk}").json()
    assert down["taken_down"] is True and down["url"] == ""
    park = apis.member.get(f"/assets/{pipeline.park.pk}").json()
    assert park["taken_down"] is False and park["url"]
    error = assert_error(apis.member.post("/generations", r2v(world, pipeline)), 422)
    assert error["field"] == "references" and "@cat was taken down by moderation" in error["message"]
    assert GenerationJob.objects.count() == 0 and Hold.objects.count() == 0


def test_a_taken_down_image_comes_back_neither_as_a_duplicate_upload_nor_on_its_project(world, reviewers, media_root):
    content = image_bytes()
    first = asset_upload(
        team=world.team,
        user=world.owner,
        uploaded_file=upload("beach.png", content),
        filename="beach.png",
        project=world.project,
    )
    asset = first.asset
    assert pinned_assets(world.project) == [asset]
    _take_down(asset, reviewers[0], reporter=world.member)

    assert pinned_assets(world.project) == []
    again = asset_upload(
        team=world.team, user=world.member, uploaded_file=upload("copy.png", content), filename="copy.png"
    )
    assert again.status == UploadStatus.REJECTED
    assert again.message == "copy.png: this image was taken down by moderation and cannot be uploaded again."
    assert Asset.objects.count() == 1


def test_a_reviewer_asks_about_an_asset_and_the_team_replies_from_its_page(world, reviewers, media_root):
    asset = make_asset(world.team, world.owner)
    case = asset_report_submit(user=world.member, asset=asset, reason="Looks like a stock photo.")
    case_decide(
        case=case,
        version=case.version,
        reviewer=reviewers[0],
        decision=Decision.ASK_CONTEXT,
        reason="Do you hold a licence for it?",
    )
    owner = world.client_for(world.owner)
    assert "A reviewer asks: Do you hold a licence for it?" in owner.get(_detail(asset)).content.decode()
    response = owner.post(
        reverse("moderation:reply", kwargs={"pk": case.pk}), {"message": "Yes, bought in May."}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(_detail(asset))
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and case.context_reply == "Yes, bought in May."
