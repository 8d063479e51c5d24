"""The error taxonomy every provider adapter speaks.

The pipeline decides what to do from the *class* of the error alone, so an adapter's one job is to raise the right
class. The classes split on the question that matters for money: could the provider have accepted (and billed) the
request?

- ``NotAccepted`` and its subclasses: the provider definitely did not accept the request. Retrying later, or failing
  over to another provider, can never charge twice.
- ``AmbiguousSubmitError``: a create request was sent and we do not know what happened. The job goes to ``unknown``
  and is reconciled by asking the provider. Never resubmit.
- ``MalformedResponseError`` and ``UnknownStatusError``: the provider answered something we cannot read. Raised, never
  read as "still running".
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every provider failure. ``code`` is the provider's own error code (as text) when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.http_status = http_status

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.message}{code}"


class NotAccepted(ProviderError):
    """The provider definitely did not accept the request: nothing was (or will be) billed for it."""


class TransientError(NotAccepted):
    """A passing failure (5xx, connection refused before sending, ...). Retry later with backoff."""


class RateLimitedError(TransientError):
    """HTTP 429 or a provider throttling code. ``retry_after`` is in seconds when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ConcurrencyFullError(TransientError):
    """The provider account has no free generation slot (PixVerse 500044). Requeue; resubmit later."""


class PermanentError(NotAccepted):
    """The provider rejected the request itself (bad parameter, bad key, unknown model). Fix the request."""


class AccountExhaustedError(PermanentError):
    """The provider account itself cannot pay (PixVerse 500043/500090: no credits left). Permanent for that account
    until someone tops it up: never retried; ``auto`` fails over once and staff are alerted."""


class ModerationError(PermanentError):
    """The provider refused the input on content grounds at submit time."""


class UnsupportedFeatureError(PermanentError):
    """The provider cannot do what the spec asks. Raised before any request is sent."""

    def __init__(self, *, provider: str, option: str, detail: str) -> None:
        super().__init__(f"{provider} does not support {option}: {detail}", provider=provider, code="unsupported")
        self.option = option


class AmbiguousSubmitError(ProviderError):
    """A create request was sent and its outcome is unknown (read timeout, reset, unreadable answer).

    The provider may have accepted and billed it. The job must be reconciled, never resubmitted.
    """


class MalformedResponseError(ProviderError):
    """The provider's answer could not be parsed (bad JSON, missing fields, wrong types)."""


class UnknownStatusError(MalformedResponseError):
    """The provider reported a status value that is not in the adapter's status map."""


class WebhookVerificationError(Exception):
    """An inbound provider webhook failed verification. The message says why (never echoed to the sender)."""


class ReplayGuardUnavailable(Exception):
    """The replay markers' store (the cache) could not be reached, so a delivery cannot be checked to be new: the
    sender is asked to retry (503), never told its delivery was taken or refused."""
