"""Settings sources: list variables without JSON, a settings file, and their precedence."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from streams.settings import Settings
from streams.worker.main import register, settings_from_args


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SETTINGS_FILE", "JOURNEY_PATHS", "PARTITIONS", "TOPIC_PREFIX", "LOG_FORMAT"):
        monkeypatch.delenv(f"JOURNEYS_{name}", raising=False)


def test_journey_paths_from_the_environment_are_split_not_json_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", "/a.yaml,/b.yaml")
    assert Settings().journey_paths == [Path("/a.yaml"), Path("/b.yaml")]
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", "/some/file.yaml")
    assert Settings().journey_paths == [Path("/some/file.yaml")]
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", "/a.yaml:/b.yaml")
    assert Settings().journey_paths == [Path("/a.yaml"), Path("/b.yaml")]
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", '["/a.yaml", "/b.yaml"]')  # JSON still works
    assert Settings().journey_paths == [Path("/a.yaml"), Path("/b.yaml")]
    monkeypatch.setenv("JOURNEYS_JOURNEY_PATHS", "")
    assert Settings().journey_paths == []


FILES = {
    "worker.toml": 'partitions = 3\ntopic_prefix = "from-file"\njourney_paths = ["/f.yaml"]\n'
    'log_format = "json"\nsasl_password = "s3cret"\n',
    "worker.yaml": "partitions: 3\ntopic_prefix: from-file\njourney_paths: [/f.yaml]\n"
    "log_format: json\nsasl_password: s3cret\n",
    "worker.json": '{"partitions": 3, "topic_prefix": "from-file", "journey_paths": ["/f.yaml"],'
    ' "log_format": "json", "sasl_password": "s3cret"}',
    "worker.env": "JOURNEYS_PARTITIONS=3\nJOURNEYS_TOPIC_PREFIX=from-file\n"
    "JOURNEYS_JOURNEY_PATHS=/f.yaml\nJOURNEYS_LOG_FORMAT=json\nJOURNEYS_SASL_PASSWORD=s3cret\n",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_settings_file_is_read_and_the_environment_overrides_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / name
    path.write_text(FILES[name])
    monkeypatch.setenv("JOURNEYS_SETTINGS_FILE", str(path))
    s = Settings()
    assert (s.partitions, s.topic_prefix, s.log_format) == (3, "from-file", "json")
    assert s.journey_paths == [Path("/f.yaml")]
    assert s.sasl_password is not None and s.sasl_password.get_secret_value() == "s3cret"
    assert "s3cret" not in str(s.describe())
    monkeypatch.setenv("JOURNEYS_PARTITIONS", "5")  # environment over file
    assert Settings().partitions == 5
    assert Settings(partitions=7).partitions == 7  # keyword (CLI option) over environment
    assert Settings().topic_prefix == "from-file"


def test_the_worker_option_names_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text('topic_prefix = "cli-file"\nlog_format = "json"\n')
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub)
    help_text = " ".join(sub.choices["worker"].format_help().split())
    assert "--settings SETTINGS_FILE" in help_text and "(env JOURNEYS_SETTINGS_FILE)" in help_text
    args = parser.parse_args(["worker", "--settings", str(path), "--partitions", "4"])
    s = settings_from_args(args)
    assert (s.settings_file, s.topic_prefix, s.partitions, s.log_format) == (
        path, "cli-file", 4, "json",
    )  # fmt: skip
    args = parser.parse_args(["worker", "--settings", str(path), "--log-format", "text"])
    assert settings_from_args(args).log_format == "text"


def test_a_bad_settings_file_is_refused_with_its_name(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text("partitons = 3\n")
    with pytest.raises(SettingsError, match="unknown settings partitons"):
        Settings(settings_file=typo)
    with pytest.raises(SettingsError, match="does not exist"):
        Settings(settings_file=tmp_path / "missing.toml")
    ini = tmp_path / "worker.ini"
    ini.write_text("[x]\n")
    with pytest.raises(SettingsError, match="unknown format"):
        Settings(settings_file=ini)
    broken = tmp_path / "broken.yaml"
    broken.write_text("partitions: [\n")
    with pytest.raises(SettingsError, match=r"broken\.yaml"):
        Settings(settings_file=broken)


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


def test_static_membership_is_opt_in_and_reaches_faust() -> None:
    from streams.worker.config import faust_config

    assert faust_config(Settings())["consumer_group_instance_id"] is None
    config = faust_config(Settings(group_instance_id="journeys-worker-0"))
    assert config["consumer_group_instance_id"] == "journeys-worker-0"
