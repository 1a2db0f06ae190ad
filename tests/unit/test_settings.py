"""Settings: COMMONSHUB_* variables, their conversions, and CLI flags on top."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from commonshub.settings import Settings, documented_settings


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.data_dir == Path("hub-data")
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.database_url == "" and settings.public_url == ""
    assert settings.lfs_size_threshold == 10 * 1024 * 1024


def test_every_variable_is_read_and_converted() -> None:
    env = {
        "COMMONSHUB_DATA_DIR": "/srv/hub",
        "COMMONSHUB_DATABASE_URL": "postgresql+psycopg://hub:pw@db/hub",
        "COMMONSHUB_PUBLIC_URL": "https://hub.example.org",
        "COMMONSHUB_HOST": "0.0.0.0",
        "COMMONSHUB_PORT": "9000",
        "COMMONSHUB_SECRET_KEY": "s3cret",
        "COMMONSHUB_LFS_MULTIPART_THRESHOLD": "1073741824",
        "COMMONSHUB_LFS_MULTIPART_CHUNK_SIZE": "104857600",
        "COMMONSHUB_LFS_UPLOAD_URL_TTL": "3600",
        "COMMONSHUB_LFS_SIZE_THRESHOLD": "5242880",
        "COMMONSHUB_MAX_CARD_BYTES": "65536",
        "COMMONSHUB_DOWNLOAD_FLUSH_INTERVAL": "0.5",
        "COMMONSHUB_WORKERS": "4",
    }
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/srv/hub") and isinstance(settings.data_dir, Path)
    assert settings.database_url == "postgresql+psycopg://hub:pw@db/hub"
    assert settings.public_url == "https://hub.example.org"
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.secret_key == "s3cret"
    assert settings.lfs_multipart_threshold == 1073741824
    assert settings.lfs_multipart_chunk_size == 104857600
    assert settings.lfs_upload_url_ttl == 3600
    assert settings.lfs_size_threshold == 5242880
    assert settings.max_card_bytes == 65536
    assert settings.download_flush_interval == 0.5
    assert settings.workers == 4


SAMPLES: dict[type, tuple[str, object]] = {
    str: ("some text", "some text"),
    int: ("4242", 4242),
    float: ("0.25", 0.25),
}


def test_every_documented_variable_reaches_its_setting() -> None:
    # Settings added later are covered too: each variable is read with its default's type.
    defaults = Settings()
    for variable in documented_settings():
        name = variable.removeprefix("COMMONSHUB_").lower()
        default = getattr(defaults, name)
        if isinstance(default, Path):
            raw, expected = "/some/dir", Path("/some/dir")
        else:
            raw, expected = SAMPLES[type(default)]
        value = getattr(Settings.from_env({variable: raw}), name)
        assert value == expected and type(value) is type(expected), variable


def test_integers_accept_surrounding_whitespace_and_floats_accept_integers() -> None:
    settings = Settings.from_env({"COMMONSHUB_PORT": " 8080\n", "COMMONSHUB_DOWNLOAD_FLUSH_INTERVAL": "2"})
    assert settings.port == 8080
    assert settings.download_flush_interval == 2.0


def test_empty_variables_mean_the_default() -> None:
    settings = Settings.from_env({"COMMONSHUB_PORT": "", "COMMONSHUB_DATA_DIR": ""})
    assert settings.port == 8000 and settings.data_dir == Path("hub-data")


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [
        ("COMMONSHUB_PORT", "80a", "int"),
        ("COMMONSHUB_WORKERS", "two", "int"),
        ("COMMONSHUB_LFS_SIZE_THRESHOLD", "10MiB", "int"),
        ("COMMONSHUB_DOWNLOAD_FLUSH_INTERVAL", "soon", "float"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, kind: str) -> None:
    with pytest.raises(ValueError, match=f"{variable}='{value}' is not a valid {kind}"):
        Settings.from_env({variable: value})


def test_unknown_and_unprefixed_variables_are_ignored() -> None:
    settings = Settings.from_env({"PORT": "1", "COMMONSHUB_NOPE": "x", "COMMONSHUB_EXTRA": "x"})
    assert settings == Settings()


def test_public_url_loses_trailing_slashes() -> None:
    assert Settings.from_env({"COMMONSHUB_PUBLIC_URL": "https://hub.example.org/"}).public_url == (
        "https://hub.example.org"
    )
    assert Settings.from_env({}, public_url="https://h.org/sub//").public_url == "https://h.org/sub"


def test_flags_win_over_the_environment() -> None:
    env = {"COMMONSHUB_PORT": "9000", "COMMONSHUB_HOST": "0.0.0.0", "COMMONSHUB_DATA_DIR": "/env"}
    settings = Settings.from_env(env, port=7000, data_dir="/flag")
    assert settings.port == 7000
    assert settings.data_dir == Path("/flag") and isinstance(settings.data_dir, Path)
    assert settings.host == "0.0.0.0"  # not given as a flag: the environment's


def test_flags_not_given_leave_the_environment_alone() -> None:
    # Typer passes None for every flag the user did not give.
    settings = Settings.from_env({"COMMONSHUB_PORT": "9000"}, port=None, host=None, data_dir=None)
    assert settings.port == 9000 and settings.host == "127.0.0.1"


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMONSHUB_WORKERS", "3")
    assert Settings.from_env().workers == 3


def test_with_overrides_returns_a_new_object() -> None:
    base = Settings()
    changed = base.with_overrides(port=1234)
    assert changed.port == 1234 and base.port == 8000


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'hub.db').resolve()}"
    explicit = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://h/db")
    assert explicit.resolved_database_url == "postgresql+psycopg://h/db"


def test_relative_data_dir_gives_an_absolute_database_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    url = Settings(data_dir=Path("hub-data")).resolved_database_url
    assert url == f"sqlite:///{tmp_path.resolve()}/hub-data/hub.db"


def test_secret_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.resolved_secret_key()
    assert len(first) == 64
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A restart, another worker: the same key, so upload URLs signed before stay valid.
    assert Settings(data_dir=tmp_path / "data").resolved_secret_key() == first
    assert Settings(data_dir=tmp_path / "other").resolved_secret_key() != first


def test_configured_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="from-the-environment")
    assert settings.resolved_secret_key() == b"from-the-environment"
    assert not (tmp_path / "secret.key").exists()


def test_documented_settings_are_the_environment_variables() -> None:
    names = documented_settings()
    assert "COMMONSHUB_DATA_DIR" in names and "COMMONSHUB_DATABASE_URL" in names
    assert "COMMONSHUB_PUBLIC_URL" in names
    assert "COMMONSHUB_EXTRA" not in names
    assert all(n.startswith("COMMONSHUB_") and n == n.upper() for n in names)
    assert len(names) == len(set(names))


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
