"""The docs-as-code test lists the blocks it did not run, and why, at the end of the session."""

from __future__ import annotations

import pytest

from tests.docs.harness import Skipped

SKIPPED_BLOCKS: list[Skipped] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SKIPPED_BLOCKS:
        return
    terminalreporter.section("doc blocks not run")
    for skipped in SKIPPED_BLOCKS:
        terminalreporter.write_line(f"{skipped.where}: {skipped.reason}")
