"""Settings for the test suite: the main settings plus fast hashing, in-memory cache and mail, eager tasks.

DATABASE_URL still chooses the database, so the same suite runs on SQLite and on PostgreSQL.
"""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Tests log the platform owner in with force_login, which cannot pass two-factor; the owner rule has its own tests
# (tests/msgplatform/accounts/test_two_factor.py), which switch it back on.
TWO_FACTOR_OWNER_REQUIRED = False
