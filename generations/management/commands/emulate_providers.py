"""``python manage.py emulate_providers --host 127.0.0.1 --port 8765``: every provider emulator on one socket.

Paths: ``/<provider><its API root>/…`` for each emulator in ``generations.emulators.registry`` (``/wavespeed/api/v3``,
``/pixverse/openapi/v2``, ``/dashscope/api/v1``, ``/highway/v3``) and the control API under ``/_control/…``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from generations.emulators.server import make_emulator_server


class Command(BaseCommand):
    help = "Serve the WaveSpeed, PixVerse, DashScope and HighwayAPI emulators (DESIGN.md §5)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--queue-seconds", type=float, default=None, help="default: EMULATOR_QUEUE_SECONDS or 1")
        parser.add_argument("--run-seconds", type=float, default=None, help="default: EMULATOR_RUN_SECONDS or 4")
        parser.add_argument(
            "--timeout-delay", type=float, default=None, help="how long a #timeout answer is held back (default 30)"
        )
        parser.add_argument(
            "--pixverse-webhook-url",
            default=None,
            help="where the emulated PixVerse console webhook delivers (default: $EMULATOR_PIXVERSE_WEBHOOK_URL)",
        )
        parser.add_argument("--quiet", action="store_true", help="no access log")

    def handle(self, *args: Any, **options: Any) -> None:
        config: dict[str, Any] = {}
        for option, key in (
            ("queue_seconds", "queue_seconds"),
            ("run_seconds", "run_seconds"),
            ("timeout_delay", "timeout_delay_seconds"),
            ("pixverse_webhook_url", "pixverse_webhook_url"),
        ):
            if options[option] is not None:
                config[key] = options[option]
        server = make_emulator_server(options["host"], options["port"], quiet=options["quiet"], **config)
        base = f"http://{options['host']}:{server.server_port}"
        config_now = server.emulator.config  # type: ignore[attr-defined]
        urls = "".join(
            f"  {name.upper()}: {base}/{name}{emulator.api_prefix}\n"
            for name, emulator in server.emulator.providers.items()  # type: ignore[attr-defined]
        )
        self.stdout.write(
            f"Provider emulators on {base} (queue {config_now.queue_seconds}s, run {config_now.run_seconds}s, "
            f"media in {config_now.media_dir})\n{urls}  control: {base}/_control/\n"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopping\n")
        finally:
            server.server_close()
