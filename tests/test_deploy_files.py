"""The example settings in deploy/ load as they are (so the docs cannot drift from the code)."""

from pathlib import Path

from node.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_toml_is_valid() -> None:
    settings = load_settings(environ={}, config_file=ROOT / "deploy" / "nabuur.example.toml")
    assert settings.public_url == "https://buren.example.be"
    assert settings.domain == "buren.example.be"
    assert settings.languages == ("nl", "fr", "en")
    assert settings.database_url.startswith("postgres://")
