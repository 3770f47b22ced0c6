"""Settings: defaults, TOML file, NABUUR_* variables, and errors that name the setting."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import db
from node.config import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings, redact_url
from tests.test_cli import nabuur

SECRET = "s3cr3t-" + "k" * 40


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nabuur.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_environment_or_file() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.name == "Nabuur"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.base_url is None
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.secret_key is None
    assert settings.languages == ("nl", "fr", "en")
    assert settings.default_language == "nl"
    assert settings.federation_mode == "open"
    assert settings.allow_private_addresses is False
    assert settings.log_level == "INFO"
    assert settings.expiry_interval_seconds == 60
    assert settings.public_url == "http://127.0.0.1:8000"


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        environ={
            "NABUUR_PORT": " 9000 ",
            "NABUUR_LANGUAGES": "FR, nl ,fr",
            "NABUUR_FEDERATION_MODE": "Allowlist",
            "NABUUR_ALLOW_PRIVATE_ADDRESSES": "yes",
            "NABUUR_LOG_LEVEL": "debug",
            "NABUUR_DATABASE_URL": "postgres://nabuur@db:5432/nabuur",
            "NABUUR_SECRET_KEY": SECRET,
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9000
    assert settings.languages == ("fr", "nl")
    assert settings.federation_mode == "allowlist"
    assert settings.allow_private_addresses is True
    assert settings.log_level == "DEBUG"
    assert settings.database_url == "postgres://nabuur@db:5432/nabuur"
    assert settings.secret_key == SECRET


def test_environment_overrides_toml(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        '[nabuur]\nname = "Buren Kuregem"\nport = 9000\nlanguages = ["fr", "nl"]\n',
    )
    settings = load_settings(environ={"NABUUR_PORT": "9100"}, config_file=path)
    assert settings.name == "Buren Kuregem"
    assert settings.languages == ("fr", "nl")
    assert settings.port == 9100


def test_config_file_named_in_environment(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'federation_mode = "off"\n')
    settings = load_settings(environ={"NABUUR_CONFIG": str(path)})
    assert settings.federation_mode == "off"


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        pytest.param({"NABUUR_PORT": "abc"}, "NABUUR_PORT", id="port-not-a-number"),
        pytest.param({"NABUUR_PORT": "70000"}, "NABUUR_PORT", id="port-too-high"),
        pytest.param({"NABUUR_PORT": "0"}, "NABUUR_PORT", id="port-zero"),
        pytest.param({"NABUUR_LANGUAGES": "de"}, "NABUUR_LANGUAGES", id="unsupported-language"),
        pytest.param({"NABUUR_LANGUAGES": ""}, "NABUUR_LANGUAGES", id="no-languages"),
        pytest.param({"NABUUR_LANGUAGES": " , "}, "NABUUR_LANGUAGES", id="blank-languages"),
        pytest.param(
            {"NABUUR_FEDERATION_MODE": "maybe"}, "NABUUR_FEDERATION_MODE", id="federation-mode"
        ),
        pytest.param(
            {"NABUUR_ALLOW_PRIVATE_ADDRESSES": "perhaps"},
            "NABUUR_ALLOW_PRIVATE_ADDRESSES",
            id="bool",
        ),
        pytest.param({"NABUUR_LOG_LEVEL": "chatty"}, "NABUUR_LOG_LEVEL", id="log-level"),
        pytest.param({"NABUUR_BASE_URL": "ftp://x"}, "NABUUR_BASE_URL", id="base-url-ftp"),
        pytest.param(
            {"NABUUR_BASE_URL": "https://buren.example.be/nabuur"},
            "NABUUR_BASE_URL",
            id="base-url-path",
        ),
        pytest.param(
            {"NABUUR_BASE_URL": "https://buren.example.be/?x=1"},
            "NABUUR_BASE_URL",
            id="base-url-query",
        ),
        pytest.param({"NABUUR_BASE_URL": "buren.example.be"}, "NABUUR_BASE_URL", id="no-scheme"),
        pytest.param({"NABUUR_NAME": "  "}, "NABUUR_NAME", id="blank-name"),
        pytest.param(
            {"NABUUR_DATABASE_URL": "mysql://nabuur@db/nabuur"},
            "NABUUR_DATABASE_URL",
            id="mysql",
        ),
        pytest.param(
            {"NABUUR_DATABASE_URL": "nabuur.sqlite3"}, "NABUUR_DATABASE_URL", id="not-a-url"
        ),
        pytest.param({"NABUUR_SECRET_KEY": "k" * 31}, "NABUUR_SECRET_KEY", id="short-secret"),
        pytest.param(
            {"NABUUR_EXPIRY_INTERVAL_SECONDS": "0"},
            "NABUUR_EXPIRY_INTERVAL_SECONDS",
            id="expiry-interval",
        ),
    ],
)
def test_invalid_value_names_the_setting(environ: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert caught.value.name == name
    assert name in str(caught.value)


def test_errors_do_not_reveal_secrets() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"NABUUR_DATABASE_URL": "mysql://nabuur:hunter2@db/nabuur"})
    assert "hunter2" not in str(caught.value)
    assert "mysql://nabuur:***@db/nabuur" in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"NABUUR_SECRET_KEY": "tooshort-secret"})
    assert "tooshort-secret" not in str(caught.value)


def test_invalid_value_in_toml_names_key_and_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'port = "abc"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={}, config_file=path)
    assert "port" in str(caught.value) and str(path) in str(caught.value)


def test_unknown_key_in_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[nabuur]\nprot = 8000\n")
    with pytest.raises(SettingsError, match="unknown setting") as caught:
        load_settings(environ={}, config_file=path)
    assert caught.value.name.startswith("prot ")
    assert "prot" in str(caught.value)


def test_invalid_toml(tmp_path: Path) -> None:
    path = _toml(tmp_path, "port = = 8000\n")
    with pytest.raises(SettingsError, match="not valid TOML") as caught:
        load_settings(environ={}, config_file=path)
    assert caught.value.name == "NABUUR_CONFIG"


def test_missing_toml_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(SettingsError, match="does not exist") as caught:
        load_settings(environ={"NABUUR_CONFIG": str(missing)})
    assert caught.value.name == "NABUUR_CONFIG"
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("0.0.0.0", 8080, "http://127.0.0.1:8080"),  # noqa: S104 - a value, not a bind
        ("::", 8001, "http://127.0.0.1:8001"),
        ("buren.local", 8000, "http://buren.local:8000"),
    ],
)
def test_public_url_follows_host_and_port(host: str, port: int, url: str) -> None:
    settings = load_settings(environ={"NABUUR_HOST": host, "NABUUR_PORT": str(port)})
    assert settings.public_url == url
    assert settings.domain == url.removeprefix("http://")
    assert settings.domain.endswith(f":{port}")


def test_base_url_wins_over_host_and_port() -> None:
    settings = load_settings(
        environ={"NABUUR_BASE_URL": "https://buren.example.be/", "NABUUR_PORT": "9000"}
    )
    assert settings.public_url == "https://buren.example.be"
    assert settings.domain == "buren.example.be"


def test_secret_key_is_not_in_repr() -> None:
    settings = load_settings(environ={"NABUUR_SECRET_KEY": SECRET})
    assert settings.secret_key == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_overrides_are_validated_like_other_values() -> None:
    settings = load_settings(environ={})
    assert settings.with_overrides(port=9000, host=None).port == 9000
    assert settings.with_overrides(languages="fr,nl").languages == ("fr", "nl")
    for bad in ({"port": 70000}, {"languages": ("de",)}, {"federation_mode": "maybe"}):
        with pytest.raises(SettingsError) as caught:
            settings.with_overrides(**bad)
        assert caught.value.name == f"NABUUR_{next(iter(bad)).upper()}"
    with pytest.raises(SettingsError):
        settings.with_overrides(base_url="ftp://x")


def test_ipv6_host_gets_brackets_in_public_url() -> None:
    settings = load_settings(environ={"NABUUR_HOST": "::1", "NABUUR_PORT": "8123"})
    assert settings.public_url == "http://[::1]:8123"
    assert settings.domain == "[::1]:8123"


@pytest.mark.parametrize("value", ["true", "8000.5"])
def test_toml_port_must_be_a_whole_number(tmp_path, value: str) -> None:
    path = tmp_path / "nabuur.toml"
    path.write_text(f"port = {value}\n")
    with pytest.raises(SettingsError, match="port"):
        load_settings(environ={}, config_file=path)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('log_format = "json"\n[nabuur]\nport = 9000\n', "log_format"),
        ("[nabuur]\nport = 9000\n[server]\nport = 8000\n", "server"),
        ('name = "x"\nport = 1\n[nabuur]\n', "name, port"),
    ],
)
def test_keys_outside_the_nabuur_table_are_refused(tmp_path: Path, text: str, named: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(SettingsError, match=r"settings go under \[nabuur\]") as caught:
        load_settings(environ={}, config_file=path)
    assert caught.value.name.startswith(f"{named} (in ")


def test_a_nabuur_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="must be a table"):
        load_settings(environ={}, config_file=_toml(tmp_path, 'nabuur = "x"\n'))


_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_URL_LIKE = st.one_of(
    _ANY_TEXT,
    st.tuples(st.sampled_from(["sqlite", "postgres", "postgresql", "x", ""]), _ANY_TEXT).map(
        lambda parts: f"{parts[0]}://{parts[1]}"
    ),
)


@settings(max_examples=300, deadline=None)
@given(_URL_LIKE)
def test_any_database_url_is_accepted_whole_or_refused_in_one_line(url: str) -> None:
    try:
        parsed = load_settings(environ={"NABUUR_DATABASE_URL": url})
    except SettingsError as exc:
        assert exc.name == "NABUUR_DATABASE_URL"
        assert "\n" not in str(exc).replace(url, "")
        return
    db.tortoise_config(parsed.database_url)  # what was accepted, the driver takes


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(_URL_LIKE)
def test_the_cli_never_shows_a_traceback_for_a_database_url(url: str) -> None:
    with tempfile.TemporaryDirectory() as where:
        result = nabuur("--help", cwd=Path(where), NABUUR_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url", ["x://[", "postgres://u:pw@[::1/x", "postgres://u:pw@h/db", "postgres://u:pw#1@h/db"]
)
def test_redacting_any_url_never_raises_nor_shows_the_password(url: str) -> None:
    assert "pw" not in redact_url(url)
