"""The worker process (`python -m worker`, as `campaign-worker` runs it) fails like the CLI: one
`error: ...` line on stderr, exit 2 for an invalid setting or an unusable connection setting,
exit 4 when Temporal is unreachable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
EXIT_INPUT, EXIT_UNREACHABLE = 2, 4


def run_worker(tmp_path: Path, **env: str) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "TEMPORAL_"))}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    # No .env or Temporal config file of the caller's: a working directory of its own, and a
    # config file that does not exist (envconfig then reads only the environment).
    clean["TEMPORAL_CONFIG_FILE"] = str(tmp_path / "no-temporal.toml")
    done = subprocess.run(
        [sys.executable, "-m", "worker"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_an_unreachable_temporal_exits_4(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    code, out, err = run_worker(tmp_path, TEMPORAL_ADDRESS=address)
    assert code == EXIT_UNREACHABLE, err
    line = one_error_line(err)
    assert line.startswith(f"error: cannot reach Temporal at {address} (namespace default): ")
    assert "connection refused" in line
    assert out == ""


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_invalid_settings_exit_2_naming_the_variable(tmp_path: Path, log_format: str) -> None:
    code, out, err = run_worker(
        tmp_path, CAMPAIGN_LOG_FORMAT=log_format, CAMPAIGN_HTTP_TIMEOUT_SECONDS="-1"
    )
    assert code == EXIT_INPUT, err
    assert one_error_line(err).startswith(
        "error: invalid settings: CAMPAIGN_HTTP_TIMEOUT_SECONDS: "
    )
    assert out == ""


def test_a_tls_file_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    code, out, err = run_worker(
        tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(missing),
    )
    assert code == EXIT_INPUT, err  # a ConnectionConfigError, not "Temporal unreachable"
    line = one_error_line(err)
    assert str(missing) in line and "cannot reach" not in line
    assert out == ""


def test_a_malformed_encryption_key_exits_2(tmp_path: Path) -> None:
    code, out, err = run_worker(
        tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        CAMPAIGN_ENCRYPTION_KEYS="k1:not-base64-and-not-32-bytes",
    )
    assert code == EXIT_INPUT, err
    line = one_error_line(err)
    assert "CAMPAIGN_ENCRYPTION_KEYS" in line and "not-base64" not in line  # never the secret
    assert out == ""
