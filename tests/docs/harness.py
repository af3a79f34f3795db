"""Docs tested as code: run the commands of a markdown file in the order they are written, and
check what each one claims.

What runs
---------
* A fenced ```console block: each line that starts with `$ ` is a command (with its continuation
  lines: a trailing backslash, or a quote still open); the lines after it, up to the next `$ `,
  are its documented output.
* A fenced ```bash (or ```sh / ```shell) block: every line that is not blank or a `#` comment is
  a command (with its continuation lines); there is no documented output.
* Any other block runs only when its annotation says so (`run:` or `file:`, below).

Commands run one by one in `bash -o pipefail -c`, in a scratch directory that links the
checkout's `.venv`, `Makefile`, `pyproject.toml` and `starter.py`, with `.venv/bin` first on
PATH and TEMPORAL_ADDRESS, CAMPAIGN_GATEWAY_PORT and DEVSTACK_* pointing at the test's stack.
The docs' default addresses in a command (localhost:7233, 127.0.0.1:8700, 127.0.0.1:8800,
localhost:8233) are rewritten to the stack's ports, and `make` gets `-o .venv/.installed` (a test
never reinstalls the virtualenv). The variables a command sets (`T=.venv/bin/temporal`,
`ID=$(...)`, `export A=1`) carry over to the commands after it, as in one shell.

What is checked
---------------
* The exit code: 0 unless the annotation says otherwise.
* The documented output's key words: every word of it (between blanks, or quotes, brackets and
  commas in JSON) that has no digit and is not an elision (`...`), i.e. no ids, times, counts or
  durations, must appear in what the command printed (stdout and stderr together). The
  annotation can add phrases (`expect`) and drop words that legitimately vary (`ignore`).

Annotations
-----------
An HTML comment right before a block (blank lines between are fine), invisible when rendered:

    <!-- doc-test: skip: needs Docker -->

    <!-- doc-test
    exit 2,3: 3                      commands 2 and 3 (counted from 1 in the block) exit 3
    expect 2: refused the retry; CAMPAIGN_ENDED; /retry \\d of 3/
                                     phrases (and /regular expressions/) command 2 prints
    ignore 4: seconds ago            documented words that vary from run to run (* = all)
    capture 1: <id> campaign-([0-9a-f-]{36})
                                     group 1 of the first match in command 1's output; later
                                     commands of the document have <id> replaced by it
    background 1: http://127.0.0.1:8800/docs
                                     command 1 is a server: run it in the background until the
                                     document ends, once the URL answers
    until 5: 30                      run command 5 again until its checks pass, for at most 30 s
                                     (for documented output that shows a state reached later)
    timeout 3: 120                   seconds command 3 may take (default 60)
    requires: chromium               programs the block needs; without them it is skipped
    -->

Before a non-command block: `file: briefs.jsonl` writes the block's text to that file (the
commands after it use it); `run: make demo` runs the command and takes the block as its
documented output. A comment with only `worker-env: NAME=value ...` (anywhere in the document)
sets the environment of the stack's worker for that document. `skip: <reason>` keeps a block
from running; the reason is required and the test lists every skipped block.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SHELL_LANGS = {"bash", "sh", "shell"}
BLOCK_KEYS = {"skip", "file", "run", "requires", "exit", "expect", "ignore", "capture",
              "background", "until", "timeout"}  # fmt: skip
DOC_KEYS = {"worker-env"}
PER_COMMAND_KEYS = {"exit", "expect", "ignore", "capture", "background", "until", "timeout"}
DEFAULT_TIMEOUT = 60.0
PLACEHOLDER = re.compile(r"<([A-Za-z][\w-]*)>")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_ANNOTATION = re.compile(r"^\s*<!--\s*doc-test\b:?(?P<rest>.*)$")
_DIRECTIVE = re.compile(r"^(?P<key>[a-z-]+)(?:\s+(?P<which>[\d,\s]+))?\s*:\s*(?P<value>.*)$")
# Set by bash itself, not by a documented command.
_SHELL_VARIABLES = {"SHLVL", "PWD", "OLDPWD", "_", "__rc"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_WORD_OK = re.compile(r"^[A-Za-z][A-Za-z_\-=/.:'@]*[A-Za-z_]$")
_STRIP = "()[]{}<>,;:.!?'\"`*|"
# Words are separated by blanks, and inside JSON and lists by quotes, brackets and commas.
_TOKEN_SPLIT = re.compile(r"[\s\"{}\[\](),;`]+")


class DocSyntaxError(ValueError):
    """A block or an annotation the harness cannot read: the message names file and line."""


# ---- the document -----------------------------------------------------------------------------


@dataclass
class Command:
    line: int  # in the markdown file
    text: str  # as written, continuation lines joined with newlines
    output: list[str] = field(default_factory=list)  # documented output lines
    index: int = 0  # 1-based, in its block

    @property
    def shown(self) -> str:
        first, *rest = self.text.splitlines()
        return first + (" ..." if rest else "")


@dataclass
class Annotation:
    line: int
    directives: list[tuple[str, tuple[int, ...], str]]  # key, command numbers, value

    def get(self, key: str) -> str | None:
        return next((v for k, _, v in self.directives if k == key), None)

    def for_command(self, key: str, index: int) -> list[str]:
        return [v for k, which, v in self.directives if k == key and index in which]


@dataclass
class Block:
    path: str
    line: int  # the opening fence
    lang: str
    body: list[tuple[int, str]]
    annotation: Annotation | None
    commands: list[Command] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def runnable(self) -> bool:
        a = self.annotation
        return (
            self.lang == "console"
            or self.lang in SHELL_LANGS
            or (a is not None and (a.get("run") is not None or a.get("file") is not None))
        )


@dataclass
class Document:
    path: str
    blocks: list[Block]
    worker_env: dict[str, str]

    def runnable_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.runnable]


def parse_document(text: str, path: str) -> Document:
    lines = text.splitlines()
    blocks: list[Block] = []
    worker_env: dict[str, str] = {}
    pending: Annotation | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _ANNOTATION.match(line)
        if m:
            pending, i = _read_annotation(lines, i, path)
            nxt = next((j for j in range(i, len(lines)) if lines[j].strip()), None)
            if nxt is None or not _FENCE.match(lines[nxt]):
                keys = {k for k, _, _ in pending.directives}
                if not keys <= DOC_KEYS:
                    raise DocSyntaxError(
                        f"{path}:{pending.line}: a doc-test comment with {sorted(keys - DOC_KEYS)} "
                        "must come right before the block it is about"
                    )
                for _, _, value in pending.directives:
                    worker_env.update(_env_pairs(value, f"{path}:{pending.line}"))
                pending = None
            continue
        f = _FENCE.match(line)
        if f:
            fence, indent = f["fence"], len(f["indent"])
            body: list[tuple[int, str]] = []
            j = i + 1
            while j < len(lines) and not (
                lines[j].strip().startswith(fence[0] * len(fence))
                and set(lines[j].strip()) == {fence[0]}
            ):
                body.append((j + 1, lines[j][indent:] if lines[j][:indent].isspace() else lines[j]))
                j += 1
            if j == len(lines):
                raise DocSyntaxError(f"{path}:{i + 1}: a code block that never closes")
            block = Block(path, i + 1, f["lang"].lower(), body, pending)
            _check_annotation(block)
            if block.runnable and not (pending and pending.get("skip") is not None):
                block.commands = _commands(block)
                _check_command_numbers(block)
            blocks.append(block)
            pending = None
            i = j + 1
            continue
        if line.strip():
            pending = None  # prose between a comment and a block: the comment is not about it
        i += 1
    return Document(path, blocks, worker_env)


def _read_annotation(lines: list[str], i: int, path: str) -> tuple[Annotation, int]:
    start = i
    m = _ANNOTATION.match(lines[i])
    assert m is not None
    parts = [m["rest"]]
    while "-->" not in parts[-1]:
        i += 1
        if i == len(lines):
            raise DocSyntaxError(f"{path}:{start + 1}: a doc-test comment that never closes")
        parts.append(lines[i])
    parts[-1] = parts[-1].split("-->", 1)[0]
    directives: list[tuple[str, tuple[int, ...], str]] = []
    for offset, raw in enumerate(parts):
        raw = raw.strip()
        if not raw:
            continue
        d = _DIRECTIVE.match(raw)
        if not d:
            raise DocSyntaxError(
                f"{path}:{start + 1 + offset}: cannot read doc-test directive {raw!r} "
                "(expected `key: value` or `key N: value`)"
            )
        key, which = d["key"], d["which"]
        if key not in BLOCK_KEYS | DOC_KEYS:
            raise DocSyntaxError(f"{path}:{start + 1 + offset}: unknown doc-test key {key!r}")
        numbers = tuple(int(n) for n in re.split(r"[,\s]+", which.strip()) if n) if which else ()
        if key in PER_COMMAND_KEYS and not numbers:
            raise DocSyntaxError(
                f"{path}:{start + 1 + offset}: {key!r} needs the command's number: `{key} 2: ...`"
            )
        directives.append((key, numbers, d["value"].strip()))
    return Annotation(start + 1, directives), i + 1


def _env_pairs(value: str, where: str) -> dict[str, str]:
    pairs = {}
    for item in shlex.split(value):
        name, eq, val = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise DocSyntaxError(f"{where}: expected NAME=value, got {item!r}")
        pairs[name] = val
    return pairs


def _check_annotation(block: Block) -> None:
    a = block.annotation
    if a is None:
        return
    skip = a.get("skip")
    if skip is not None and not skip:
        raise DocSyntaxError(f"{block.path}:{a.line}: `skip:` needs a reason")
    if a.get("file") is not None and (block.lang == "console" or block.lang in SHELL_LANGS):
        raise DocSyntaxError(f"{block.path}:{a.line}: `file:` is for a block of data, not commands")


def _incomplete(text: str) -> bool:
    """Does the shell need another line (a trailing backslash, an open quote or loop)?"""
    if text.rstrip().endswith("\\"):
        return True
    check = subprocess.run(["bash", "-n", "-c", text], capture_output=True, text=True)
    return check.returncode != 0 and (
        "unexpected end of file" in check.stderr or "unexpected EOF" in check.stderr
    )


def _commands(block: Block) -> list[Command]:
    a = block.annotation
    run = a.get("run") if a else None
    if run is not None:
        return [Command(block.line, run, [t for _, t in block.body], 1)]
    if a is not None and a.get("file") is not None:
        return []
    commands: list[Command] = []
    body = block.body
    k = 0
    while k < len(body):
        lineno, text = body[k]
        if block.lang == "console":
            if not text.startswith("$ "):
                if not commands:
                    raise DocSyntaxError(
                        f"{block.path}:{lineno}: a console block's first line must be a "
                        "`$ ` command"
                    )
                commands[-1].output.append(text)
                k += 1
                continue
            text = text[2:]
        elif not text.strip() or text.lstrip().startswith("#"):
            k += 1
            continue
        start = lineno
        while _incomplete(text):
            k += 1
            if k == len(body):
                raise DocSyntaxError(f"{block.path}:{start}: the command never ends")
            text += "\n" + body[k][1]
        commands.append(Command(start, text, [], len(commands) + 1))
        k += 1
    return commands


def _check_command_numbers(block: Block) -> None:
    a = block.annotation
    if a is None:
        return
    for key, which, value in a.directives:
        for n in which:
            if not 1 <= n <= len(block.commands):
                raise DocSyntaxError(
                    f"{block.path}:{a.line}: `{key} {n}` but the block has "
                    f"{len(block.commands)} command(s)"
                )
        if key == "capture" and not PLACEHOLDER.match(value):
            raise DocSyntaxError(f"{block.path}:{a.line}: `capture N: <name> REGEX`, got {value!r}")


def key_words(lines: list[str]) -> list[str]:
    """The robust words of documented output: no ids, times, counts, durations or elisions."""
    words: list[str] = []
    for line in lines:
        for token in _TOKEN_SPLIT.split(line):
            if "..." in token or "…" in token or any(c.isdigit() for c in token):
                continue
            word = token.strip(_STRIP)
            if word and _WORD_OK.match(word) and word not in words:
                words.append(word)
    return words


def placeholders_of(text: str) -> list[str]:
    return [m.group(0) for m in PLACEHOLDER.finditer(text)]


# ---- running it -------------------------------------------------------------------------------


@dataclass
class Result:
    code: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Problem:
    where: str  # file:line
    command: str
    what: list[str]
    output: str = ""

    def __str__(self) -> str:
        lines = [f"{self.where}: $ {self.command}", *(f"    {w}" for w in self.what)]
        if self.output.strip():
            tail = self.output.strip().splitlines()[-25:]
            lines.append("    output (stdout, then stderr; last lines):")
            lines += [f"      | {t}" for t in tail]
        return "\n".join(lines)


@dataclass
class Skipped:
    where: str
    reason: str


@dataclass
class Ports:
    temporal: int
    ui: int
    services: int
    gateway: int

    def rewrites(self) -> dict[str, str]:
        pairs = {7233: self.temporal, 8233: self.ui, 8700: self.services, 8800: self.gateway}
        out = {}
        for default, port in pairs.items():
            for host in ("localhost", "127.0.0.1"):
                out[f"{host}:{default}"] = f"{host}:{port}"
        return out


@dataclass
class DocRunner:
    """Runs one document's blocks in order against a stack; collects problems, never stops."""

    workdir: Path
    env: dict[str, str]
    rewrites: Mapping[str, str]
    default_timeout: float = DEFAULT_TIMEOUT
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ran: int = 0
    timings: list[tuple[str, float]] = field(default_factory=list)
    captures: dict[str, str] = field(default_factory=dict)
    _background: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    _seq: int = 0

    # -- the whole document --

    def run(self, doc: Document) -> None:
        try:
            for block in doc.blocks:
                self.run_block(block)
        finally:
            self.stop_background()

    def run_block(self, block: Block) -> None:
        a = block.annotation
        if not block.runnable:
            return
        if a is not None and a.get("skip") is not None:
            self.skipped.append(Skipped(block.where(), a.get("skip") or ""))
            return
        for program in (a.get("requires") or "").split() if a else ():
            if shutil.which(program, path=self.env.get("PATH")) is None:
                self.skipped.append(Skipped(block.where(), f"needs {program}, not installed"))
                return
        name = a.get("file") if a else None
        if name:
            (self.workdir / name).write_text("\n".join(t for _, t in block.body) + "\n")
            return
        for cmd in block.commands:
            self.run_command(block, cmd)

    # -- one command --

    def run_command(self, block: Block, cmd: Command) -> None:
        a = block.annotation or Annotation(block.line, [])
        where = f"{block.path}:{cmd.line}"
        missing = [p for p in placeholders_of(cmd.text) if p[1:-1] not in self.captures]
        if missing:
            self.problems.append(
                Problem(where, cmd.shown, [f"not run: {', '.join(missing)} was never captured"])
            )
            return
        text = self.prepare(cmd.text)
        expected_exit = int((a.for_command("exit", cmd.index) or ["0"])[-1])
        given = a.for_command("timeout", cmd.index)
        timeout = float(given[-1]) if given else self.default_timeout
        background = a.for_command("background", cmd.index)
        if background:
            self.start_background(where, cmd, text, self.prepare(background[-1]), timeout)
            return
        phrases = [self.prepare(p) for v in a.for_command("expect", cmd.index) for p in _split(v)]
        ignored = {w for v in a.for_command("ignore", cmd.index) for w in v.split()}
        words = [] if "*" in ignored else [w for w in key_words(cmd.output) if w not in ignored]
        until = a.for_command("until", cmd.index)
        deadline = time.monotonic() + (float(until[-1]) if until else 0.0)
        while True:
            result = self.execute(text, timeout)
            what = self.check(result, expected_exit, words, phrases, timeout)
            if not what or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        self.ran += 1
        self.timings.append((where, result.seconds))
        if until and what:
            what.append(f"(still so after retrying for {until[-1]} s)")
        if text != cmd.text:
            what = [*what, f"(run as: {text})"] if what else what
        if what:
            self.problems.append(Problem(where, cmd.shown, what, result.output))
        for value in a.for_command("capture", cmd.index):
            name, _, pattern = value.partition(" ")
            m = re.search(pattern.strip(), _ANSI.sub("", result.output))
            if m is None:
                self.problems.append(
                    Problem(
                        where,
                        cmd.shown,
                        [f"capture {name}: /{pattern.strip()}/ found nothing in the output"],
                        result.output,
                    )
                )
            else:
                self.captures[name[1:-1]] = m.group(1) if m.groups() else m.group(0)

    def prepare(self, text: str) -> str:
        """Placeholders filled in, default addresses rewritten to the stack's, make told not to
        reinstall the virtualenv."""
        text = PLACEHOLDER.sub(lambda m: self.captures.get(m.group(1), m.group(0)), text)
        for old, new in self.rewrites.items():
            text = text.replace(old, new)
        return re.sub(r"(^|[;&|(]\s*)make\s", r"\1make -o .venv/.installed ", text)

    def check(
        self, result: Result, code: int, words: list[str], phrases: list[str], timeout: float
    ) -> list[str]:
        what = []
        output = _ANSI.sub("", result.output)
        if result.code is None:
            what.append(f"timed out after {timeout:g} s (expected exit {code})")
        elif result.code != code:
            what.append(f"expected exit {code}, got {result.code}")
        lost = [w for w in words if w not in output]
        if lost:
            what.append("documented words missing from the output: " + ", ".join(map(repr, lost)))
        lost = [p for p in phrases if not _contains(output, p)]
        if lost:
            what.append("expected phrases missing from the output: " + ", ".join(map(repr, lost)))
        return what

    def execute(self, text: str, timeout: float) -> Result:
        self._seq += 1
        out_file = self.workdir / "logs" / f"{self._seq:03d}.out"
        err_file = out_file.with_suffix(".err")
        env_file = out_file.with_suffix(".env")
        out_file.parent.mkdir(exist_ok=True)
        # allexport: a variable a command sets (T=..., ID=$(...), export ...) is in the dump
        # after it, and so in the environment of the commands after it, as in one shell.
        script = f"set -a\n{text}\n__rc=$?; env -0 > {shlex.quote(str(env_file))}; exit $__rc"
        began = time.monotonic()
        with out_file.open("wb") as out, err_file.open("wb") as err:
            proc = subprocess.Popen(
                ["bash", "-o", "pipefail", "-c", script],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                code: int | None = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                code = None
        if env_file.exists():  # the command reached its end: its variables carry over
            dump = env_file.read_bytes().decode(errors="replace").split("\0")
            pairs = (item.partition("=") for item in dump)
            self.env = {k: v for k, eq, v in pairs if eq and k not in _SHELL_VARIABLES}
        return Result(
            code,
            out_file.read_text(errors="replace"),
            err_file.read_text(errors="replace"),
            time.monotonic() - began,
        )

    # -- servers --

    def start_background(
        self, where: str, cmd: Command, text: str, url: str, timeout: float
    ) -> None:
        self._seq += 1
        log = self.workdir / "logs" / f"{self._seq:03d}-background.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", text],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._background.append((proc, log))
        self.ran += 1
        deadline = time.monotonic() + min(timeout, 30.0)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                what = [f"exited {proc.returncode} before {url} answered"]
                self.problems.append(
                    Problem(where, cmd.shown, what, log.read_text(errors="replace"))
                )
                return
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            time.sleep(0.1)
        what = [f"{url} did not answer within {min(timeout, 30.0):g} s"]
        self.problems.append(Problem(where, cmd.shown, what, log.read_text(errors="replace")))

    def stop_background(self) -> None:
        for proc, _ in self._background:
            _kill_group(proc, signal.SIGTERM)
        self._background.clear()

    def report(self) -> str:
        lines = [f"{len(self.problems)} documented claim(s) are not true:", ""]
        for problem in self.problems:
            lines += [str(problem), ""]
        return "\n".join(lines)


def _split(value: str) -> Iterator[str]:
    for part in value.split(";"):
        if part.strip():
            yield part.strip()


def _contains(output: str, phrase: str) -> bool:
    if len(phrase) > 2 and phrase.startswith("/") and phrase.endswith("/"):
        return re.search(phrase[1:-1], output) is not None
    return phrase in output


def _kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def clean_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its own Temporal, campaign and stack settings."""
    prefixes = ("TEMPORAL_", "CAMPAIGN_", "DEVSTACK_", "REFSVC_", "OTEL_")
    return {k: v for k, v in base.items() if not k.startswith(prefixes)}


def prepare_workdir(workdir: Path, root: Path) -> None:
    """A scratch directory that looks like the checkout to the docs' commands."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in (".venv", "Makefile", "pyproject.toml", "starter.py"):
        link = workdir / name
        if not link.exists():
            link.symlink_to(root / name)
