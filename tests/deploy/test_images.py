"""The Dockerfile, read statically (no Docker engine here): slim base, non-root user, one
target per service with its command, port and health check, only that service's
dependencies, and a build context that holds what the COPY lines need and nothing else."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from contracts.spec import SERVICES
from tests.deploy.settings_names import (
    NAMESPACE,
    ROOT,
    owner,
    settings_class,
    third_party_imports,
)

pytestmark = pytest.mark.deploy

DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [v for i, v in self.instructions if i == instruction]


def _parse() -> tuple[dict[str, str], dict[str, Stage]]:
    parser = DockerfileParser(path=str(DOCKERFILE))
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "FROM":
            base, _, name = value.partition(" AS ")
            current = Stage(name=name.strip(), base=base.strip())
            stages[current.name] = current
        elif current is None:
            if instruction == "ARG":
                key, _, default = value.partition("=")
                args[key] = default
        else:
            current.instructions.append((instruction, value))
    return args, stages


ARGS, STAGES = _parse()


def _chain(name: str) -> list[Stage]:
    """The stage and its ancestors, the stage itself first."""
    chain = []
    while name in STAGES:
        chain.append(STAGES[name])
        name = STAGES[name].base
    return chain


def _last(name: str, instruction: str) -> str | None:
    for stage in _chain(name):
        found = stage.values(instruction)
        if found:
            return found[-1]
    return None


def _exec_form(value: str) -> list[str]:
    loaded = json.loads(value)
    assert isinstance(loaded, list), f"not exec form: {value}"
    return [str(x) for x in loaded]


def test_every_stage_builds_on_the_slim_python_base() -> None:
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", ARGS["PYTHON_IMAGE"]), ARGS
    for stage in STAGES.values():
        assert stage.base == "${PYTHON_IMAGE}" or stage.base in STAGES, stage
    assert {s.name for s in STAGES.values() if s.base == "${PYTHON_IMAGE}"} == {"base"}


@pytest.mark.parametrize("service", SERVICES)
def test_service_target(service: str) -> None:
    stage = STAGES[service]
    port = settings_class(service).default_http_port
    user = _last(service, "USER")
    assert user is not None
    assert user.split(":")[0] not in ("0", "root"), user
    assert stage.values("USER"), "the target itself must drop to the unprivileged user"
    assert _exec_form(stage.values("CMD")[-1]) == ["python", "-m", f"services.{service}"]
    assert stage.values("EXPOSE") == [str(port)]
    (health,) = stage.values("HEALTHCHECK")
    assert "CMD" in health
    assert "/health" in health
    assert f"TGI_{service.upper()}_HTTP_PORT', '{port}'" in health
    assert f"--from=venv-{service} /opt/venv /opt/venv" in stage.values("COPY")
    (install,) = STAGES[f"venv-{service}"].values("RUN")
    assert f"extra_requirements.py /build/pyproject.toml {service} " in install
    assert "-c /build/requirements.lock" in install


def test_ops_target_runs_migrations_as_a_job() -> None:
    stage = STAGES["ops"]
    assert _exec_form(stage.values("CMD")[-1]) == ["python", "-m", "tools.migrate"]
    assert stage.values("HEALTHCHECK") == ["NONE"]
    user = _last("ops", "USER")
    assert user is not None
    assert user.split(":")[0] not in ("0", "root")


def test_the_unprivileged_user_is_created_with_that_uid() -> None:
    (create,) = STAGES["app"].values("RUN")
    assert "useradd --system --uid 10001" in create
    assert {_last(t, "USER") for t in (*SERVICES, "ops")} == {"10001:10001"}


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes ``path`` (last matching pattern wins; a pattern
    matching a parent directory matches what is inside it)."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pattern[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if hit:
            excluded = not negate
    return excluded


def test_build_context_holds_every_copied_path_and_no_tests_or_state() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for stage in STAGES.values():
        for value in stage.values("COPY"):
            if value.startswith("--from="):
                continue
            sources += value.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is excluded by .dockerignore"
    for unwanted in (
        ".venv/bin/python",
        ".cache/bin",
        ".state/logs",
        "tests/conftest.py",
        "reports/bench.json",
        "services/router/__pycache__/app.cpython-311.pyc",
    ):
        assert _ignored(unwanted, patterns), unwanted


def _extra_requirements() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extra_requirements", ROOT / "deploy/docker/extra_requirements.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed_closure(requirements: list[str]) -> set[str]:
    """Canonical names of the distributions ``pip install`` of ``requirements`` brings."""
    todo = [Requirement(r) for r in requirements]
    done: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in done:
            continue
        done.add(key)
        for raw in metadata.requires(req.name) or []:
            dep = Requirement(raw)
            envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return {k.split("[")[0] for k in done}


ENTRY_POINTS = {s: [f"services.{s}.__main__"] for s in SERVICES} | {
    "ops": ["tools.migrate", "servicekit.topics"]
}


@pytest.mark.parametrize("target", sorted(ENTRY_POINTS))
def test_each_image_installs_what_its_code_imports(target: str) -> None:
    reqs = _extra_requirements().requirements(ROOT / "pyproject.toml", target)
    installed = _installed_closure(reqs)
    owners = {name: owner(name) for name in third_party_imports(*ENTRY_POINTS[target])}
    missing = {
        name: dist for name, dist in owners.items() if dist not in installed and dist != NAMESPACE
    }
    assert not missing, f"the {target} image lacks the distributions of {missing}"


def test_image_extras_pin_what_the_project_pins() -> None:
    """An image gets the versions the project's own environment has: the main list's and
    the lock's pins where they name the package, and always the version installed here."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = str(req.specifier)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"]:
        req = Requirement(raw)
        pins[canonicalize_name(req.name)] = str(req.specifier)
    module = _extra_requirements()
    for target in ENTRY_POINTS:
        for raw in module.requirements(ROOT / "pyproject.toml", target):
            req = Requirement(raw)
            assert str(req.specifier) == f"=={metadata.version(req.name)}", raw
            assert pins.get(canonicalize_name(req.name), str(req.specifier)) == str(
                req.specifier
            ), raw


def test_extra_requirements_resolves_references_and_refuses_unknown_extras(
    tmp_path: Path,
) -> None:
    module = _extra_requirements()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "tgint"\n[project.optional-dependencies]\n'
        'a = ["x==1", "tgint[b]"]\nb = ["y==2", "x==1"]\nc = ["tgint[d]"]\n'
    )
    assert module.requirements(pyproject, "a") == ["x==1", "y==2"]
    with pytest.raises(KeyError):
        module.requirements(pyproject, "c")
