"""Agent profiles: what an agent's screen looks like, as data.

A profile is one TOML file per agent and CLI version. Built-in profiles live in this folder
(package data); user profiles are ``*.toml`` files in a directory the caller passes (the CLI uses
``<config dir>/profiles/``) and override built-ins of the same name. The name of a profile is its
file name without ``.toml``.

* :mod:`.model`: the validated data model (:class:`Profile` and its rules);
* :mod:`.loader`: finding, reading and validating the files (:func:`load_profile`).

Every mistake is one :class:`~bridge.errors.ProfileError` line naming the file, the key and why.
"""

from bridge.profiles.loader import BUILTIN_DIR, ProfileInfo, list_profiles, load_profile, load_profile_file
from bridge.profiles.model import (
    Attrs,
    InputRules,
    Marker,
    MenuRules,
    MenuStep,
    ModelRules,
    PermissionAnswers,
    PermissionRules,
    ProcessRules,
    Profile,
    ReplyRules,
    RowRule,
    Selector,
    StateRule,
    States,
    SubmitRules,
    TranscriptRules,
    TurnRules,
)

__all__ = [
    "BUILTIN_DIR",
    "Attrs",
    "InputRules",
    "Marker",
    "MenuRules",
    "MenuStep",
    "ModelRules",
    "PermissionAnswers",
    "PermissionRules",
    "ProcessRules",
    "Profile",
    "ProfileInfo",
    "ReplyRules",
    "RowRule",
    "Selector",
    "StateRule",
    "States",
    "SubmitRules",
    "TranscriptRules",
    "TurnRules",
    "list_profiles",
    "load_profile",
    "load_profile_file",
]
