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


def test_env_bool_refuses_a_typo_naming_the_variable_and_its_value(monkeypatch):
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import env_bool

    # given a yes/no variable spelled wrong
    monkeypatch.setenv("EMAIL_USE_TLS", "ture")
    # when it is read, then the start-up stops and says which variable and which value
    with pytest.raises(ImproperlyConfigured, match=r"EMAIL_USE_TLS='ture'"):
        env_bool("EMAIL_USE_TLS", False)


def test_env_bool_reads_the_usual_spellings_in_any_case_and_empty_as_the_default(monkeypatch):
    from config.settings import env_bool

    spellings = {
        "1": True,
        "true": True,
        "TRUE": True,
        "Yes": True,
        "on": True,
        " On ": True,
        "0": False,
        "false": False,
        "False": False,
        "NO": False,
        "off": False,
    }
    for text, expected in spellings.items():
        monkeypatch.setenv("HTTPS", text)
        assert env_bool("HTTPS", not expected) is expected, text
    monkeypatch.setenv("HTTPS", "")
    assert (env_bool("HTTPS", True), env_bool("HTTPS", False)) == (True, False)
    monkeypatch.delenv("HTTPS")
    assert (env_bool("HTTPS", True), env_bool("HTTPS", False)) == (True, False)
