"""docs/configuration.md lists every setting, with its meaning, and is up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings
from temporalio.envconfig import ClientConfig

from devstack import config_doc
from orchestrator_connection.codec_server import CodecServerSettings
from orchestrator_connection.settings import ClientSettings, Settings
from reference_services.settings import ReferenceSettings
from rest_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: tuple[type[BaseSettings], ...] = (
    Settings,
    CodecServerSettings,
    ReferenceSettings,
    GatewaySettings,
)


def test_the_document_is_up_to_date() -> None:
    assert config_doc.DOC.read_text() == config_doc.render(), (
        "docs/configuration.md is out of date: run `.venv/bin/python -m devstack.config_doc`"
    )


def test_the_readme_lists_every_setting() -> None:
    readme = config_doc.README.read_text()
    assert readme == config_doc.render_readme(readme), (
        "README.md's settings tables are out of date: run `.venv/bin/python -m devstack.config_doc`"
    )
    block = readme.split(config_doc.README_BEGIN)[1].split(config_doc.README_END)[0]
    for cls in SETTINGS:
        for name, field in cls.model_fields.items():
            assert f"| `{config_doc.env_name(cls, name, field)}` |" in block


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_every_setting_is_listed_with_a_meaning(cls: type[BaseSettings]) -> None:
    text = config_doc.render()
    for name, field in cls.model_fields.items():
        var = config_doc.env_name(cls, name, field)
        rows = re.findall(rf"^\| `{var}` \| [^|]* \| (.*) \|$", text, re.M)
        assert rows, f"{var} is not in docs/configuration.md"
        assert all(meaning.strip() for meaning in rows), (
            f"{var} has no meaning: give the field a description= or add it to "
            "devstack.config_doc.NOTES"
        )


def test_every_environment_variable_read_in_the_code_is_listed() -> None:
    text = config_doc.render()
    for path in [*ROOT.glob("src/**/*.py"), ROOT / "worker.py", ROOT / "starter.py"]:
        for var in re.findall(
            r"""environ(?:\.get)?[(\[]\s*["']([A-Z0-9_]+)["']""", path.read_text()
        ):
            assert f"`{var}`" in text, f"{var} (read in {path.name}) is not documented"


def test_every_compose_variable_is_listed_with_a_meaning() -> None:
    text = config_doc.render()
    for var, _ in config_doc.compose_variables():
        assert re.search(rf"^\| `{var}` \| [^|]* \| \S", text, re.M), var


def test_the_documented_temporal_variables_are_what_envconfig_reads(tmp_path: Path) -> None:
    pem = tmp_path / "x.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    values = {
        "TEMPORAL_ADDRESS": "h:1",
        "TEMPORAL_NAMESPACE": "ns",
        "TEMPORAL_API_KEY": "k",
        "TEMPORAL_TLS": "true",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pem),
        "TEMPORAL_TLS_SERVER_CA_CERT_DATA": pem.read_text(),
        "TEMPORAL_TLS_SERVER_NAME": "name",
        "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "true",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pem),
        "TEMPORAL_TLS_CLIENT_CERT_DATA": pem.read_text(),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pem),
        "TEMPORAL_TLS_CLIENT_KEY_DATA": pem.read_text(),
        "TEMPORAL_GRPC_META_<NAME>": "v",
    }
    empty = ClientConfig.load_client_connect_config(override_env_vars={}, disable_file=True)
    documented = {var for var, _ in config_doc.ENVCONFIG}
    for var, value in values.items():
        assert var in documented
        name = var.replace("<NAME>", "X_TEAM")
        loaded = ClientConfig.load_client_connect_config(
            override_env_vars={name: value}, disable_file=True
        )
        assert loaded != empty, f"envconfig ignores {name}"


def test_the_document_says_which_settings_the_clients_read() -> None:
    text = config_doc.render()
    section = text.split(config_doc.APP_SECTION)[1].split("\n## ")[0]
    shared, rest = section.split("Read by the worker only:")
    worker_only = rest.split("The `campaign` CLI also reads:")[0]
    client_vars = {
        config_doc.env_name(ClientSettings, n, f) for n, f in ClientSettings.model_fields.items()
    }
    for name, field in Settings.model_fields.items():
        var = config_doc.env_name(Settings, name, field)
        row = f"| `{var}` |"
        if var in client_vars:
            assert row in shared and row not in worker_only, var
            assert config_doc.CLIENT_READERS[var] in shared
        else:
            assert row in worker_only and row not in shared, var
