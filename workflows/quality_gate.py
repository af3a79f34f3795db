"""The quality gate: what blocks publishing. Pure function, no I/O."""

from __future__ import annotations

from contracts import QualityReport, QualityVerdict


def gate_problems(report: QualityReport | None) -> list[str]:
    """Why the gate is closed; empty when the content may be published.

    Closed on: no report, a FAIL verdict, or any CRITICAL check (a CRITICAL check closes the
    gate even when the auditor's verdict says PASS).
    """
    if report is None:
        return ["no quality report"]
    problems: list[str] = []
    if report.verdict is QualityVerdict.FAIL:
        problems.append("verdict FAIL")
    for check in report.critical_checks:
        where = f" on {check.channel}" if check.channel else ""
        problems.append(
            f"CRITICAL check '{check.name}'{where} failed: {check.message}".rstrip(": ")
        )
    return problems
