"""The prompt pre-screen: staff-edited terms checked before anything is held.

A *blocked* term refuses the request with its reason (shown in the composer) before any hold; a *flagged* term lets
it through and opens a review case on the job (``Source.PRESCREEN``), so the video is hidden until reviewed.
Matching is case-insensitive on whole words (a phrase matches as a whole), so "gore" does not catch "Gorey".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from studio.audit.models import AuditAction
from studio.audit.services import audit_record
from studio.moderation.models import ScreenTerm, TermAction

if TYPE_CHECKING:
    from django.http import HttpRequest

    from studio.accounts.models import User


@dataclass(frozen=True)
class Screening:
    blocked: tuple[ScreenTerm, ...] = ()
    flagged: tuple[ScreenTerm, ...] = ()

    @property
    def block_message(self) -> str:
        if not self.blocked:
            return ""
        term = self.blocked[0]
        why = f": {term.reason}" if term.reason else ""
        return f"This prompt contains a blocked term (“{term.term}”){why}. Change the prompt to continue."


def _matches(term: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term.strip())}(?!\w)", text, flags=re.IGNORECASE) is not None


def prompt_screen(*texts: str) -> Screening:
    """Screen the prompt (and negative prompt) against the current terms."""
    text = "\n".join(t for t in texts if t)
    if not text.strip():
        return Screening()
    blocked: list[ScreenTerm] = []
    flagged: list[ScreenTerm] = []
    for term in ScreenTerm.objects.all():
        if term.term.strip() and _matches(term.term, text):
            (blocked if term.action == TermAction.BLOCK else flagged).append(term)
    return Screening(blocked=tuple(blocked), flagged=tuple(flagged))


def screen_term_add(
    *, actor: User, term: str, action: str, reason: str = "", request: HttpRequest | None = None
) -> ScreenTerm:
    """Add a pre-screen term (a policy change: audited)."""
    with transaction.atomic():
        added = ScreenTerm.objects.create(term=term, action=action, reason=reason, created_by=actor)
        audit_record(
            action=AuditAction.POLICY_CHANGED,
            actor=actor,
            target=added,
            request=request,
            data={"screen_term": term, "term_action": action, "added": True},
        )
    return added


def screen_term_remove(*, actor: User, term: ScreenTerm, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        audit_record(
            action=AuditAction.POLICY_CHANGED,
            actor=actor,
            target=term,
            request=request,
            data={"screen_term": term.term, "term_action": term.action, "added": False},
        )
        term.delete()
