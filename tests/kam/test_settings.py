"""Production settings: start-up refusals and Django's deployment checklist."""

from tests.production import PRODUCTION_ENV, run_python


def _manage(*args: str, env: dict[str, str]):
    return run_python("manage.py", *args, env=env)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_a_short_secret_key() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"})

    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_production_refuses_a_malformed_setting() -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "SESSION_IDLE_TIMEOUT": "eight hours"})

    assert result.returncode != 0
    assert "SESSION_IDLE_TIMEOUT" in result.stderr


def test_production_settings_pass_the_deployment_checklist() -> None:
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_content_security_policy_allows_no_inline_script(client, cast) -> None:
    client.force_login(cast.kam)

    policy = client.get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
