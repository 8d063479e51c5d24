"""Local mode's email: printed to the console of ``make run`` with its links pulled out in a framed block, so the
verification and invitation links of a keyless local run are easy to find (README: "Emails in local mode")."""

from __future__ import annotations

import re

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.message import EmailMessage

_LINK = re.compile(r"https?://[^\s<>\"']+")


class LocalConsoleEmailBackend(ConsoleBackend):
    """Django's console backend, plus a banner naming the recipient, the subject and every link in the message."""

    def write_message(self, message: EmailMessage) -> None:
        body = message.body if isinstance(message.body, str) else ""
        links = list(dict.fromkeys(_LINK.findall(body)))
        bar = "=" * 78
        lines = [bar, f"EMAIL to {', '.join(message.to)}: {message.subject}"]
        lines += [f"  LINK: {link}" for link in links] or ["  (no links)"]
        lines.append(bar)
        if self.stream is not None:
            self.stream.write("\n".join(lines) + "\n")
        super().write_message(message)
