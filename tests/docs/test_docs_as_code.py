"""Docs tested as code: README.md and docs/operator-guide.md, run as written against a real stack.

Each document gets a fresh stack on free 127.0.0.1 ports (a file-backed Temporal dev server with
its Web UI, the reference services, a worker process), the way `python -m devstack up` leaves
it, and its commands run in the order they are written (tests/docs/harness.py says how, and how
a block is annotated). A documented line that is not true fails the test with the file, line,
command, and what was expected against what came.

The tests without the `integration` marker check the annotations and the harness itself and need
no stack.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from devstack.processes import free_port, port_open
from devstack.stack import DevStack, StackConfig
from tests.docs.conftest import SKIPPED_BLOCKS
from tests.docs.harness import (
    PLACEHOLDER,
    DocRunner,
    DocSyntaxError,
    Ports,
    clean_environment,
    key_words,
    parse_document,
    placeholders_of,
    prepare_workdir,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "docs/operator-guide.md"]


def load(doc: str):
    return parse_document((ROOT / doc).read_text(), doc)


def distinct_free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.mark.integration
@pytest.mark.parametrize("doc", DOCS)
def test_every_documented_command_is_true(doc: str, tmp_path: Path) -> None:
    document = load(doc)
    ports = Ports(*distinct_free_ports(4))
    workdir = tmp_path / "work"
    prepare_workdir(workdir, ROOT)
    config = StackConfig(
        run_dir=workdir / ".run",
        temporal_port=ports.temporal,
        ui_port=ports.ui,
        services_port=ports.services,
    )
    env = {
        **clean_environment(os.environ),
        "PATH": f"{workdir / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "TEMPORAL_ADDRESS": config.temporal_address,
        "TEMPORAL_NAMESPACE": "default",
        "CAMPAIGN_GATEWAY_PORT": str(ports.gateway),
        "DEVSTACK_DIR": str(config.run_dir),
        "DEVSTACK_TEMPORAL_PORT": str(ports.temporal),
        "DEVSTACK_UI_PORT": str(ports.ui),
        "DEVSTACK_SERVICES_PORT": str(ports.services),
        "COLUMNS": "200",  # rich tables and progress bars: no wrapping of long cells
    }
    runner = DocRunner(workdir, env, ports.rewrites())
    stack = DevStack(config)
    began = time.monotonic()
    try:
        stack.start_server()
        stack.start_services()
        stack.start_worker(env=document.worker_env)
        runner.run(document)
    finally:
        stack.down()
    elapsed = time.monotonic() - began
    SKIPPED_BLOCKS.extend(runner.skipped)
    slowest = sorted(runner.timings, key=lambda t: -t[1])[:5]
    print(f"{doc}: {runner.ran} commands in {elapsed:.1f}s; slowest:", *slowest, sep="\n  ")
    for skipped in runner.skipped:
        print(f"not run: {skipped.where}: {skipped.reason}")
    assert runner.ran > 0, f"{doc}: no command ran"
    assert not runner.problems, f"{doc} (logs in {workdir / 'logs'}):\n" + runner.report()


# ---- the annotations, without a stack ------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_block_runs_or_says_why_not(doc: str) -> None:
    """Parsing checks each annotation; here: each <placeholder> a command uses is captured by an
    earlier command, and the document runs commands at all."""
    document = load(doc)
    captured: set[str] = set()
    commands = 0
    for block in document.runnable_blocks():
        a = block.annotation
        if a is not None and a.get("skip") is not None:
            continue
        for cmd in block.commands:
            commands += 1
            for name in placeholders_of(cmd.text):
                assert name in captured, (
                    f"{doc}:{cmd.line}: {name} is used before any command captures it "
                    "(`capture N: <name> REGEX` in the block's doc-test comment)"
                )
            for value in a.for_command("capture", cmd.index) if a else ():
                m = PLACEHOLDER.match(value)
                assert m is not None
                captured.add(m.group(0))
    assert commands >= 10, f"{doc}: only {commands} commands would run"


# ---- the harness itself: it must be able to fail ---------------------------------------------

SAMPLE = """\
# Sample

<!-- doc-test
exit 2: 3
expect 3: /retry \\d of 3/
capture 4: <id> id=(\\w+)
-->
```console
$ echo "hello world, it is 10:35:22"
hello world, it is 11:00:00
$ bash -c 'echo refused >&2; exit 3'
refused
$ echo retry 1 of 3
retry 1 of 3
$ echo id=abc123
id=abc123
$ echo got <id>
got
```

```bash
NAME=there
echo "hello $NAME"
export GONE=soon
unset GONE
```

<!-- doc-test: file: data.json -->
```json
{"a": 1}
```

```console
$ cat data.json
{"a": 1}
$ echo nothing like it
something else entirely
$ exit 1
```

<!-- doc-test: skip: needs a cluster -->
```bash
kubectl apply -f x.yaml
```
"""


def sample_runner(tmp_path: Path) -> DocRunner:
    env = {**os.environ, "PATH": os.environ.get("PATH", "")}
    return DocRunner(tmp_path, env, {}, default_timeout=10)


def test_the_harness_reports_each_false_line_with_file_line_command_and_why(
    tmp_path: Path,
) -> None:
    document = parse_document(SAMPLE, "sample.md")
    runner = sample_runner(tmp_path)
    runner.run(document)
    report = runner.report()
    assert len(runner.problems) == 2, report
    wrong_words, wrong_exit = runner.problems
    assert wrong_words.where == "sample.md:36" and wrong_words.command == "echo nothing like it"
    assert (
        "documented words missing from the output: 'something', 'else', 'entirely'"
        in (wrong_words.what[0])
    )
    assert wrong_exit.where == "sample.md:38" and wrong_exit.what == ["expected exit 0, got 1"]
    assert "sample.md:36: $ echo nothing like it" in report
    assert runner.captures == {"id": "abc123"}
    assert runner.env["NAME"] == "there" and "GONE" not in runner.env
    assert [s.reason for s in runner.skipped] == ["needs a cluster"]
    assert (tmp_path / "data.json").read_text() == '{"a": 1}\n'


def test_the_harness_fails_a_wrong_exit_code_and_a_missing_phrase(tmp_path: Path) -> None:
    doc = """\
<!-- doc-test
exit 1: 2
expect 1: CAMPAIGN_ENDED
-->
```console
$ echo fine
fine
```
"""
    runner = sample_runner(tmp_path)
    runner.run(parse_document(doc, "x.md"))
    assert [p.what for p in runner.problems] == [
        ["expected exit 2, got 0", "expected phrases missing from the output: 'CAMPAIGN_ENDED'"]
    ]


def test_until_retries_a_command_until_its_output_is_as_documented(tmp_path: Path) -> None:
    doc = """\
<!-- doc-test
until 1: 10
-->
```console
$ n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ] && echo FAILED || echo RUNNING
FAILED
```
"""
    runner = sample_runner(tmp_path)
    runner.run(parse_document(doc, "x.md"))
    assert not runner.problems, runner.report()
    assert (tmp_path / "n").read_text().strip() == "3"


def test_a_background_server_answers_and_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    doc = f"""\
<!-- doc-test
background 1: http://127.0.0.1:{port}/
-->
```console
$ {sys.executable} -m http.server {port} --bind 127.0.0.1
$ {sys.executable} -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/').status)"
200
```
"""
    runner = sample_runner(tmp_path)
    runner.run(parse_document(doc, "x.md"))
    assert not runner.problems, runner.report()
    assert not port_open(port), "the server outlived its document"


def test_the_default_addresses_are_rewritten_and_make_does_not_reinstall(tmp_path: Path) -> None:
    runner = DocRunner(tmp_path, dict(os.environ), Ports(1, 2, 3, 4).rewrites())
    assert runner.prepare("campaign list --address localhost:7233") == (
        "campaign list --address localhost:1"
    )
    assert runner.prepare("G=http://127.0.0.1:8800/api") == "G=http://127.0.0.1:4/api"
    assert runner.prepare("make gateway") == "make -o .venv/.installed gateway"


def test_key_words_leave_out_ids_times_counts_and_elisions() -> None:
    lines = [
        "campaign-59ab4376-c474-5dd0-bd38-4662181989b2  FAILED  (running)  retries=0",
        "  10:35:23  #1   IDLE          campaign_created  (execution_id=766c951f-...)",
        "  ...",
        "│ failed: QUALITY_GATE_FAILED │         2 │",
        '{"campaign_id":"9a9ce4be-...","starts_at":"RADAR_SCAN","links":{...}}',
    ]
    assert key_words(lines) == ["FAILED", "running", "IDLE", "campaign_created", "failed",
                                "QUALITY_GATE_FAILED", "campaign_id", "starts_at", "RADAR_SCAN",
                                "links"]  # fmt: skip


@pytest.mark.parametrize(
    "doc, error",
    [
        ("<!-- doc-test: skip: -->\n```bash\nx\n```\n", "`skip:` needs a reason"),
        ("<!-- doc-test\nexit 3: 1\n-->\n```console\n$ true\n```\n", "`exit 3` but the block"),
        ("<!-- doc-test: expect: x -->\n```console\n$ true\n```\n", "needs the command's number"),
        ("<!-- doc-test: colour: red -->\n```console\n$ true\n```\n", "unknown doc-test key"),
        ("<!-- doc-test: exit 1: 2 -->\n\nprose\n", "must come right before the block"),
        ("```console\nno prompt\n```\n", "first line must be a `$ ` command"),
    ],
)
def test_bad_annotations_are_errors_that_name_the_line(doc: str, error: str) -> None:
    with pytest.raises(DocSyntaxError, match=r"^bad\.md:") as caught:
        parse_document(doc, "bad.md")
    assert error in str(caught.value)
