"""Settings for the test suite: the production settings module, read with a test environment.

The environment is set *before* studio.settings is imported, so the same env-driven code paths run; anything CI
sets (DATABASE_URL, CELERY_BROKER_URL) wins over these defaults.
"""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
os.environ.setdefault("STUDIO_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from studio.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing; tests don't need strength
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
