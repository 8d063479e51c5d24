"""Forced outcomes: magic prompt tokens and faults armed through ``POST /_control/faults``.

Put a token anywhere in the prompt (``"a cat #fail"``) or arm the same fault by name for tests that do not control
the prompt: ``POST /_control/faults {"provider": "pixverse", "fault": "busy", "times": 1, "on": "create"}``
(``provider`` may be ``"*"``; ``on`` is ``"create"`` or ``"poll"``). Armed faults are consumed in arming order by the
next matching request of that provider.

=================  ======  ==========================================================================================
fault (token)      on      effect
=================  ======  ==========================================================================================
fail               create  job is created, runs, then fails (WaveSpeed ``failed`` 1403, PixVerse 8, DashScope
                           ``FAILED``/InternalError, HighwayAPI ``TASK_STATUS_FAILED``)
moderate           create  job is created, then ends moderated (WaveSpeed ``failed`` 1200, PixVerse 7, DashScope
                           ``FAILED``/DataInspectionFailed, HighwayAPI ``TASK_STATUS_FAILED`` with a moderation reason)
nsfw               create  job completes but is flagged (WaveSpeed ``has_nsfw_contents: [true]``); the other
                           providers have no such flag and report it as ``moderate``
never              create  job is created and never finishes (holds its concurrency slot)
ratelimit          both    HTTP 429 with ``Retry-After: 2`` in the provider's error shape; nothing is created
busy               create  concurrency full: PixVerse ErrCode 500044 (HTTP 200), DashScope 429
                           Throttling.AllocationQuota, HighwayAPI 429 RATE_LIMIT_EXCEEDED; WaveSpeed queues instead
                           of refusing, so there the job is created and stays ``created`` for ever
error500           both    HTTP 500 in the provider's error shape; nothing is created
error503           both    HTTP 503 (HighwayAPI SERVICE_NOT_AVAILABLE); nothing is created
fail200            both    a failure inside HTTP 200: PixVerse ErrCode 500001, WaveSpeed envelope ``code: 500``;
                           DashScope and HighwayAPI have no such answer and send HTTP 500
nocredits          create  the provider account is empty: PixVerse ErrCode 500043 "All Credits have been used up"
                           (HTTP 200), DashScope 400 Arrearage, HighwayAPI 403 NOT_ENOUGH_BALANCE, WaveSpeed 402
                           [I: undocumented]; nothing is created
rejected           create  content rejected at submit: PixVerse ErrCode 500054, DashScope 400 DataInspectionFailed,
                           HighwayAPI/WaveSpeed 400 with a moderation message [I]; nothing is created
malformed          both    the job IS created (on create), then the answer is truncated, non-JSON text
timeout            both    the job IS created (on create), then the answer never arrives in time: in-process the
                           transport raises ``httpx.ReadTimeout``; on a socket the server waits
                           ``timeout_delay_seconds`` before answering
reset              both    the job IS created (on create), then the connection is reset: in-process
                           ``httpx.ReadError``; on a socket a TCP RST (SO_LINGER 0)
connect_timeout    both    control only: ``EmulatorTransport`` raises ``httpx.ConnectTimeout`` before the app sees
                           the request (nothing created, nothing counted). Not available on a real socket.
connect_error      both    control only: like ``connect_timeout`` but ``httpx.ConnectError``
=================  ======  ==========================================================================================

Poll-time tokens: ``#poll-<fault>`` for ratelimit, error500, error503, fail200, malformed, timeout, reset. They fire
on the *first* poll of that job only, so the job still completes afterwards.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

OUTCOME_FAULTS = frozenset({"fail", "moderate", "nsfw", "never"})
REFUSAL_FAULTS = frozenset({"ratelimit", "busy", "error500", "error503", "fail200", "nocredits", "rejected"})
RESPONSE_FAULTS = frozenset({"malformed", "timeout", "reset"})
CONNECT_FAULTS = frozenset({"connect_timeout", "connect_error"})
CREATE_FAULTS = OUTCOME_FAULTS | REFUSAL_FAULTS | RESPONSE_FAULTS | CONNECT_FAULTS
POLL_FAULTS = frozenset({"ratelimit", "error500", "error503", "fail200", "malformed", "timeout", "reset"}) | (
    CONNECT_FAULTS
)
PROMPT_TOKENS = OUTCOME_FAULTS | REFUSAL_FAULTS | RESPONSE_FAULTS
RETRY_AFTER_SECONDS = 2

#: The internal response header through which the app tells the transport/server to simulate a transport fault.
TRANSPORT_FAULT_HEADER = "X-Emulator-Transport-Fault"

_TOKEN = re.compile(r"#([a-z0-9_-]+)")


@dataclass(frozen=True)
class PromptFaults:
    """The faults named in a prompt: at most one per phase is used (the first token wins)."""

    create: str | None
    poll: str | None


def parse_prompt(prompt: str) -> PromptFaults:
    create: str | None = None
    poll: str | None = None
    for token in _TOKEN.findall(prompt or ""):
        if token.startswith("poll-"):
            name = token.removeprefix("poll-")
            if poll is None and name in POLL_FAULTS - CONNECT_FAULTS:
                poll = name
        elif create is None and token in PROMPT_TOKENS:
            create = token
    return PromptFaults(create=create, poll=poll)


@dataclass
class ArmedFault:
    provider: str
    fault: str
    on: str
    times: int

    def as_dict(self) -> dict[str, object]:
        return {"provider": self.provider, "fault": self.fault, "on": self.on, "times": self.times}


class FaultBoard:
    """Faults armed through the control endpoint. Thread-safe; each arming fires ``times`` times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[ArmedFault] = []

    def arm(self, *, provider: str, fault: str, on: str = "create", times: int = 1) -> ArmedFault:
        """Validate and arm a fault; raise ``ValueError`` with a readable reason when it makes no sense."""
        if on not in ("create", "poll"):
            raise ValueError("'on' must be 'create' or 'poll'")
        allowed = CREATE_FAULTS if on == "create" else POLL_FAULTS
        if fault not in allowed:
            raise ValueError(f"unknown {on} fault {fault!r}; expected one of {', '.join(sorted(allowed))}")
        if times < 1:
            raise ValueError("'times' must be >= 1")
        armed = ArmedFault(provider=provider, fault=fault, on=on, times=times)
        with self._lock:
            self._armed.append(armed)
        return armed

    def take(self, provider: str, on: str, kinds: frozenset[str]) -> str | None:
        """Consume one firing of the first armed fault in ``kinds`` for ``provider`` and phase ``on``.

        The app takes everything but the connect faults; ``EmulatorTransport`` takes only those.
        """
        with self._lock:
            for armed in self._armed:
                if armed.on == on and armed.provider in (provider, "*") and armed.fault in kinds:
                    armed.times -= 1
                    if armed.times <= 0:
                        self._armed.remove(armed)
                    return armed.fault
        return None

    def listing(self) -> list[dict[str, object]]:
        with self._lock:
            return [armed.as_dict() for armed in self._armed]

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
