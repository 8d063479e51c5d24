"""Audit rows for account security events that Django and allauth announce by signal: sign-in, failed sign-in,
password changed / reset. (MFA changes are recorded where MFA is handled.)"""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from studio.audit.models import AuditAction
from studio.audit.services import audit_record


@receiver(user_logged_in, dispatch_uid="audit-sign-in")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.SIGN_IN, actor=user, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit-sign-in-failed")
def _sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Only the login name is kept (never the password); allauth passes it as "email" or "username".
    login = str(credentials.get("email") or credentials.get("username") or credentials.get("login") or "")[:254]
    audit_record(action=AuditAction.SIGN_IN_FAILED, request=request, data={"login": login})


@receiver(password_changed, dispatch_uid="audit-password-changed")
@receiver(password_set, dispatch_uid="audit-password-set")
def _password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.PASSWORD_CHANGED, actor=user, target=user, request=request)


@receiver(password_reset, dispatch_uid="audit-password-reset")
def _password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.PASSWORD_RESET, actor=user, target=user, request=request)
