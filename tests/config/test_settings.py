import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_under_production_variables(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 64 + "-production-secret-value",
        "ALLOWED_HOSTS": "billing.example.com",
        "HTTPS": "1",
        "VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' fixtures; not a production variable
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_defaults_need_no_services():
    from django.conf import settings

    assert settings.CELERY_BROKER_URL.startswith("filesystem") or os.environ.get("CELERY_BROKER_URL")
    assert "platform-heartbeat" in settings.CELERY_BEAT_SCHEDULE
