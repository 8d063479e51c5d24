"""Reference-asset pages. Lists start from the active team; single assets come through
``access.get_asset_for_user``; every change goes through ``studio.assets.services``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from studio.accounts.models import User
from studio.assets import selectors, services
from studio.assets.budget import PixelBudget
from studio.assets.forms import AssetEditForm, UploadForm
from studio.assets.models import Asset
from studio.assets.services import UploadOutcome, UploadStatus
from studio.teams import access
from studio.teams.access import Perm

PAGE_SIZE = 24


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views below are all behind login_required)."""
    return access.request_user(request)


def max_upload_request_bytes() -> int:
    """The largest request body the upload page reads: the file limit times the file count, plus room for fields."""
    return int(settings.ASSET_MAX_BYTES) * int(settings.ASSET_MAX_FILES_PER_UPLOAD) + 1024 * 1024


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Run Django's CSRF check now. The upload view is csrf_exempt only so that this runs *after* the
    Content-Length check: the middleware's check reads the body (request.POST), which is what we refuse up front."""

    def checked_view(request: HttpRequest) -> HttpResponse:  # not exempt, so the check applies
        return HttpResponse()

    middleware = CsrfViewMiddleware(checked_view)
    return middleware.process_view(request, checked_view, (), {})


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    membership = access.require_active_membership(request)
    team = membership.team
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    tag = request.GET.get("tag", "").strip()[:40]
    retired = request.GET.get("retired") == "1"
    assets = selectors.asset_list(team=team, query=query, tag=tag, retired=retired)
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "tag": tag,
        "retired": retired,
        "tags": selectors.tags_in_use(team=team),
        "can_upload": access.role_allows(membership.role, Perm.UPLOAD),
        # Only an empty page needs to know whether the team has any asset at all (which empty state to show).
        "has_any": bool(page.object_list) or Asset.objects.filter(team=team).exists(),
    }
    template = "assets/_grid.html" if getattr(request, "htmx", False) else "assets/list.html"
    return render(request, template, context)


@csrf_exempt  # checked by _csrf_rejection below, after the size check
@login_required
def asset_upload(request: HttpRequest) -> HttpResponse:
    membership = access.require_active_membership(request, Perm.UPLOAD)
    team = membership.team
    context: dict[str, object] = {"team": team, "max_files": settings.ASSET_MAX_FILES_PER_UPLOAD}
    is_htmx = bool(getattr(request, "htmx", False))
    if request.method != "POST":
        context["form"] = UploadForm(team=team)
        return render(request, "assets/upload.html", context)

    if _content_length(request) > max_upload_request_bytes():
        limit_mb = max_upload_request_bytes() // (1024 * 1024)
        context["form"] = UploadForm(team=team)
        context["request_error"] = (
            f"The upload is too large ({_content_length(request) // (1024 * 1024)} MB). Send at most "
            f"{settings.ASSET_MAX_FILES_PER_UPLOAD} files of under {settings.ASSET_MAX_BYTES // (1024 * 1024)} MB "
            f"each (about {limit_mb} MB in all)."
        )
        return render(request, "assets/upload.html", context, status=413)
    rejection = _csrf_rejection(request)
    if rejection is not None:
        return rejection

    form = UploadForm(request.POST, team=team)
    files = request.FILES.getlist("files")
    skipped: list[tuple[str, int]] = getattr(request, "upload_rejections", [])
    outcomes: list[UploadOutcome] = [services.asset_upload_rejected(filename=name) for name, _limit in skipped]
    if not files and not skipped:
        form.add_error(None, "Choose at least one image to upload.")
    if not form.is_valid():
        context["form"] = form
        if is_htmx:  # htmx swaps only 2xx answers; show the errors in the results area
            return render(request, "assets/_upload_results.html", context)
        return render(request, "assets/upload.html", context, status=400)

    max_files: int = settings.ASSET_MAX_FILES_PER_UPLOAD
    budget = PixelBudget(user_id=_user(request).pk)
    for index, uploaded in enumerate(files):
        if index >= max_files:
            outcomes.append(
                services.asset_upload_rejected(
                    filename=uploaded.name or "file",
                    message=f"{uploaded.name}: not processed; upload at most {max_files} files at once.",
                )
            )
            continue
        outcomes.append(
            services.asset_upload(
                team=team,
                user=_user(request),
                uploaded_file=uploaded,
                filename=uploaded.name,
                default_type=form.cleaned_data["default_type"],
                project=form.cleaned_data["project"],
                tags=form.cleaned_data["tags"],
                budget=budget,
            )
        )
    context.update(
        {
            "form": UploadForm(team=team, initial={**form.cleaned_data, "tags": ", ".join(form.cleaned_data["tags"])}),
            "outcomes": outcomes,
            "accepted": sum(o.status == UploadStatus.ACCEPTED for o in outcomes),
            "reused": sum(o.status == UploadStatus.REUSED for o in outcomes),
            "rejected": sum(o.status == UploadStatus.REJECTED for o in outcomes),
        }
    )
    template = "assets/_upload_results.html" if is_htmx else "assets/upload.html"
    # 429 when the user's budget or the busy decoder refused a file, 413 when this request's budget did (htmx swaps
    # only 2xx answers, so it gets 200 and the same per-file messages).
    limited = {o.http_status for o in outcomes if o.http_status}
    status = 200 if is_htmx or not limited else (429 if 429 in limited else 413)
    return render(request, template, context, status=status)


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    asset = access.get_asset_for_user(request.user, pk)
    from generations.selectors import asset_lineage
    from studio.moderation.services import asset_taken_down

    context = {
        "asset": asset,
        "download_as": f"{asset.ref_name}.{asset.format.lower()}",
        "can_edit": access.can(request.user, asset.team_id, Perm.EDIT),
        "can_delete": access.can(request.user, asset.team_id, Perm.DELETE),
        "lineage": asset_lineage(request.user, asset),
        "taken_down": asset_taken_down(asset),
    }
    return render(request, "assets/detail.html", context)


@login_required
@require_POST
def asset_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Retire (hide from pickers, history kept) or, with ``restore``, bring back an asset."""
    asset = access.get_asset_for_user(request.user, pk, Perm.EDIT)
    restore = request.POST.get("restore") == "1"
    services.asset_retire(asset=asset, retired=not restore)
    if restore:
        messages.success(request, f"@{asset.ref_name} is back in the pickers.")
    else:
        messages.success(request, f"@{asset.ref_name} is retired: hidden from pickers; videos made with it still play.")
    return redirect("assets:detail", pk=asset.pk)


@login_required
def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    asset = access.get_asset_for_user(request.user, pk, Perm.EDIT)
    form = AssetEditForm(request.POST or None, asset=asset)
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_update(
                asset=asset,
                name=form.cleaned_data["name"],
                ref_name=form.cleaned_data["ref_name"],
                default_type=form.cleaned_data["default_type"],
                project=form.cleaned_data["project"],
                tags=form.cleaned_data["tags"],
            )
        except services.AssetError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Asset saved.")
            return redirect("assets:detail", pk=asset.pk)
    status = 400 if form.errors else 200
    return render(request, "assets/edit.html", {"asset": asset, "form": form}, status=status)


@login_required
def asset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    asset = access.get_asset_for_user(request.user, pk, Perm.DELETE)
    used = selectors.usage_count(asset)
    if request.method == "POST":
        if used and request.POST.get("confirm_used") != "1":
            messages.error(request, f"{used} videos used this asset: tick the box to confirm you want to delete it.")
            return render(request, "assets/delete.html", {"asset": asset, "used": used}, status=400)
        try:
            services.asset_delete(asset=asset)
        except services.AssetError as exc:
            messages.error(request, str(exc))
            return redirect("assets:detail", pk=asset.pk)
        messages.success(request, f'Asset "{asset.name}" deleted.')
        return redirect("assets:list")
    return render(request, "assets/delete.html", {"asset": asset, "used": used})
