"""Which environment variables a service really reads, and what its code imports."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from servicekit.settings import SHARED_PREFIX, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"contracts", "servicekit", "services", "tools"}
NAMESPACE = "<namespace package>"


def settings_class(service: str) -> type[ServiceSettings]:
    """The settings class of ``service`` (the one whose ``service_name`` it is)."""
    module = importlib.import_module(f"services.{service}.settings")
    return next(
        obj
        for name, obj in vars(module).items()
        if name.endswith("Settings")
        and isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj.service_name == service
    )


def reads(service: str, variable: str) -> bool:
    """Whether ``service`` reads ``variable`` (its own prefix or the shared ``TGI_``)."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    for field in cls.model_fields:
        if variable in (f"{prefix}{field}".upper(), f"{SHARED_PREFIX}{field}".upper()):
            return True
    return False


def _module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def third_party_imports(*entry_modules: str) -> set[str]:
    """Every non-stdlib, non-first-party name imported (``a.b`` and ``a.b.c`` for ``from a.b
    import c``; anywhere in a file, lazy imports included) by the entry modules and every
    first-party module they reach, transitively."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = list(entry_modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                top = target.split(".")[0]
                if top in FIRST_PARTY:
                    todo.append(target)
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(target)
    return found


@functools.cache
def _owners() -> dict[Path, str]:
    """Installed file → the canonical name of the distribution that installed it."""
    owners: dict[Path, str] = {}
    for dist in metadata.distributions():
        for file in dist.files or []:
            owners[Path(str(dist.locate_file(file))).resolve()] = canonicalize_name(
                dist.metadata["Name"]
            )
    return owners


def owner(name: str) -> str | None:
    """The distribution that provides the deepest importable module of ``name`` (so
    ``opentelemetry.sdk.trace`` is opentelemetry-sdk's, not the namespace's), or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:i]))
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.origin is None or not spec.has_location:
            # A namespace package (opentelemetry): its parts belong to the distributions
            # of the modules under it, which are imported and checked by their own names.
            return NAMESPACE
        return _owners().get(Path(spec.origin).resolve())
    return None
