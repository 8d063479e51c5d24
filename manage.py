#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    if sys.argv[1:2] == ["emulate_providers"]:
        # The emulators stand in for the providers: they read no secret of ours, so they need no SECRET_KEY
        # (issue 13 finding 13: `make emulators` stopped with ImproperlyConfigured unless DEBUG=1).
        os.environ.setdefault("STUDIO_PROCESS", "emulators")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
