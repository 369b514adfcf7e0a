"""Finding and loading profile files: built-in ones next to this package, user ones in a folder.

The name of a profile is its file name without ``.toml``; a user profile overrides the built-in
one of the same name. Every mistake is one :class:`~bridge.errors.ProfileError` line naming the
file, the key and why.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bridge.errors import ProfileError
from bridge.profiles.model import Profile

__all__ = ["BUILTIN_DIR", "ProfileInfo", "list_profiles", "load_profile", "load_profile_file"]

BUILTIN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ProfileInfo:
    """One available profile. ``error`` is set (and agent/version empty) if the file is invalid."""

    name: str
    agent: str
    version: str
    source: Path
    builtin: bool
    error: str | None = None


def _describe(error: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (dotted key, why)."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        why = "unknown key"
    elif first["type"] == "missing":
        why = "required key is missing"
    else:
        why = first["msg"].removeprefix("Value error, ")
    more = error.error_count() - 1
    return key, why + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


_LOADED: dict[Path, tuple[tuple[int, int], Profile]] = {}  # path -> (its mtime and size, profile)


def load_profile_file(path: Path) -> Profile:
    """Read and validate one profile file; its name is the file name without ``.toml``.

    A file read before and unchanged since (same modification time and size) is not read again.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc.strerror or exc}") from None
    seen = _LOADED.get(path)
    if seen is not None and seen[0] == (stat.st_mtime_ns, stat.st_size):
        return seen[1]
    profile = _read_profile(path)
    _LOADED[path] = ((stat.st_mtime_ns, stat.st_size), profile)
    return profile


def _read_profile(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: invalid TOML: {exc}") from None
    name = path.stem
    if data.get("name", name) != name:
        raise ProfileError(f"profile {path}: key 'name': {data['name']!r} must match the file name {name!r}")
    try:
        return Profile.model_validate({**data, "name": name})
    except ValidationError as exc:
        key, why = _describe(exc)
        raise ProfileError(f"profile {path}: key '{key}': {why}") from None


def _sources(user_dir: Path | None) -> dict[str, tuple[Path, bool]]:
    found = {p.stem: (p, True) for p in sorted(BUILTIN_DIR.glob("*.toml"))}
    if user_dir is not None and user_dir.is_dir():
        found.update({p.stem: (p, False) for p in sorted(user_dir.glob("*.toml"))})
    return found


def load_profile(name: str, user_dir: Path | None = None, *, key: str | None = None) -> Profile:
    """The profile ``name``: from ``user_dir`` if it has ``<name>.toml``, else the built-in one.

    ``key``: where the name was given (``"registry.toml: agents.a.profile"``), named in the
    error when there is no such profile."""
    if name and not name.startswith(".") and "/" not in name and "\0" not in name:
        for folder in (user_dir, BUILTIN_DIR):  # what _sources() finds, without listing folders
            if folder is not None and (path := folder / f"{name}.toml").is_file():
                return load_profile_file(path)
    known = ", ".join(sorted(_sources(user_dir))) or "none"
    where = f"{key}: " if key else ""
    raise ProfileError(f"{where}no profile named {name!r}", hint=f"known profiles: {known}")


def list_profiles(user_dir: Path | None = None) -> list[ProfileInfo]:
    """Every available profile by name (user profiles shadow built-ins); invalid ones carry
    ``error`` instead of failing the listing."""
    infos = []
    for name, (path, builtin) in sorted(_sources(user_dir).items()):
        try:
            profile = load_profile_file(path)
        except ProfileError as exc:
            infos.append(ProfileInfo(name, "", "", path, builtin, error=str(exc)))
        else:
            infos.append(ProfileInfo(name, profile.agent, profile.version, path, builtin))
    return infos
