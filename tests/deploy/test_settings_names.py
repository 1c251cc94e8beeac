"""Every JOURNEYS_* variable named in the deployment files is a real setting.

The names come from the pydantic-settings model itself: its ``env_prefix`` plus each
field name upper-cased, so a renamed or removed field fails here rather than in a
cluster where the variable would be silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.deploy.files import (
    COMPOSE_FILE,
    DEPLOY,
    DOCKERFILE,
    ENV_NAME,
    K8S,
    LOCAL_SH,
    README,
)


def setting_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    assert prefix == "JOURNEYS_"
    return {prefix + name.upper() for name in Settings.model_fields}


def files_naming_settings() -> list[Path]:
    return [COMPOSE_FILE, DOCKERFILE, LOCAL_SH, README, *sorted(K8S.glob("*.yaml"))]


@pytest.mark.parametrize(
    "path", files_naming_settings(), ids=lambda p: p.relative_to(DEPLOY).as_posix()
)
def test_named_variables_are_settings(path: Path) -> None:
    named = set(ENV_NAME.findall(path.read_text()))
    unknown = named - setting_names()
    assert not unknown, f"{path.name} names variables that Settings does not read: {unknown}"


def test_deployments_name_settings_at_all() -> None:
    for path in (COMPOSE_FILE, K8S / "configmap.yaml", README):
        assert ENV_NAME.search(path.read_text()), path


def test_readme_table_documents_every_setting() -> None:
    rows = re.findall(r"^\| `(JOURNEYS_[A-Z0-9_]+)` \|", README.read_text(), flags=re.MULTILINE)
    assert len(rows) == len(set(rows)), "a setting is listed twice"
    missing = setting_names() - set(rows)
    assert not missing, f"deploy/README.md's settings table lacks {sorted(missing)}"
