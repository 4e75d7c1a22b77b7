"""Remote-access authorisations (R-RA-1, "Accès distant", "Données client").

The provider connects to a customer's systems only at the customer's request, only to
the systems the customer authorised, with approved tools. An authorisation is the
customer's record on an incident: which systems, which tool, from when until when. A
tool that is not on the operator's list (``data/remote-tools.yaml``) may still be
authorised, but then the customer acknowledges that it is responsible for the integrity
and security of its data. Engineers log each session (who, when, which system); a
session outside every authorisation's window or systems is refused. The window is
``[valid_from, valid_until)``: a session may start at ``valid_from`` and no later than
the minute before ``valid_until``. Withdrawing an authorisation ends it at once.

Pure: the checks and the tool list, no SQL (``services.remote_access`` stores them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from unisupport.datafile import check_codes, read_yaml, shipped, validate
from unisupport.errors import InvalidInput, Refused
from unisupport.sla.calendar import epoch_seconds

RULE = "R-RA-1"
OTHER_TOOL = "other"
MAX_SYSTEMS = 50
MAX_SYSTEM_LENGTH = 200  # a session names one system (remote_access_sessions.system)
RESPONSIBILITY = {
    "en": (
        "The tool is not one the provider approves: the customer is responsible for the integrity and security "
        "of its data during the connection."
    ),
    "fr": (
        "L'outil n'est pas approuvé par le fournisseur : le client est responsable de l'intégrité et de la "
        "sécurité de ses données pendant la connexion."
    ),
}


class _ToolEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1, max_length=200)
    fr: str = Field(min_length=1, max_length=200)


class _ToolFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    tools: dict[str, _ToolEntry] = Field(min_length=1)

    @field_validator("tools")
    @classmethod
    def _codes(cls, tools: dict[str, _ToolEntry]) -> dict[str, _ToolEntry]:
        check_codes(tools, "tool")
        if OTHER_TOOL in tools:
            raise ValueError(f"tool code {OTHER_TOOL!r} is kept for a tool the provider has not approved")
        return tools


@dataclass(frozen=True)
class ApprovedTools:
    """The tools the provider approves, by code, with their names in both languages."""

    tools: dict[str, tuple[str, str]]  # code -> (en, fr)
    version: str

    def __contains__(self, code: object) -> bool:
        return code in self.tools

    def name(self, code: str, lang: str = "en") -> str:
        en, fr = self.tools.get(code, (code, code))
        return fr if lang == "fr" else en

    @classmethod
    def load(cls, path: str | Path | None = None) -> ApprovedTools:
        path = Path(path) if path else shipped("remote-tools.yaml")
        parsed = validate(path, _ToolFile, read_yaml(path))
        return cls({code: (e.en, e.fr) for code, e in parsed.tools.items()}, parsed.version)


@lru_cache(maxsize=1)
def approved_tools() -> ApprovedTools:
    """The shipped list, loaded once per process."""
    return ApprovedTools.load()


def system_key(system: str) -> str:
    """How a system named twice is recognised (``SQL-PROD-01`` = ``sql-prod-01 ``)."""
    return " ".join(system.split()).casefold()


def clean_systems(systems: Iterable[str]) -> list[str]:
    """The systems authorised, trimmed, each once, in the order given; free text
    ``"a, b"`` is split on commas and new lines."""
    out: list[str] = []
    seen: set[str] = set()
    for given in systems:
        for part in given.replace("\n", ",").split(","):
            name = " ".join(part.split())
            if len(name) > MAX_SYSTEM_LENGTH:
                raise InvalidInput(
                    f"a system's name is at most {MAX_SYSTEM_LENGTH} characters: {name[:40]}…",
                    field="systems",
                    rule=RULE,
                )
            if name and system_key(name) not in seen:
                seen.add(system_key(name))
                out.append(name)
    if not out:
        raise InvalidInput("name at least one system the provider may connect to", field="systems", rule=RULE)
    if len(out) > MAX_SYSTEMS:
        raise InvalidInput(f"at most {MAX_SYSTEMS} systems per authorisation", field="systems", rule=RULE)
    return out


def check_tool(tool: str, other_tool: str | None, acknowledged: bool, tools: ApprovedTools) -> tuple[str, bool]:
    """The tool recorded and whether it is approved. Another tool needs its name and
    the customer's acknowledgement of responsibility for its data."""
    if tool != OTHER_TOOL:
        if tool not in tools:
            known = ", ".join(sorted(tools.tools))
            raise InvalidInput(f"unknown tool {tool!r}: one of {known}, or 'other'", field="tool", rule=RULE)
        return tool, True
    name = " ".join((other_tool or "").split())
    if not name:
        raise InvalidInput("name the other tool", field="other_tool", rule=RULE)
    if not acknowledged:
        raise Refused(
            f"{name} is not an approved tool: the customer acknowledges that it is responsible for the integrity and "
            "security of its data to authorise it",
            rule=RULE,
            field="acknowledge_data_responsibility",
        )
    return name, False


def check_window(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    if epoch_seconds(valid_until) <= epoch_seconds(valid_from):
        raise InvalidInput("the authorisation must end after it starts", field="valid_until", rule=RULE)
    if epoch_seconds(valid_until) <= epoch_seconds(now):
        raise InvalidInput("the authorisation would already have ended", field="valid_until", rule=RULE)


@dataclass(frozen=True)
class Grant:
    """One authorisation, as the checks see it."""

    id: int
    systems: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    withdrawn_at: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        t = epoch_seconds(at)
        return self.withdrawn_at is None and epoch_seconds(self.valid_from) <= t < epoch_seconds(self.valid_until)

    def covers(self, system: str) -> bool:
        return system_key(system) in {system_key(s) for s in self.systems}


def grant_for(grants: Iterable[Grant], system: str, at: datetime) -> Grant:
    """The authorisation in force at ``at`` that covers ``system`` (the one lasting
    longest when several do), or a refusal naming R-RA-1 and why."""
    grants = list(grants)
    fitting = [g for g in grants if g.in_force(at) and g.covers(system)]
    if fitting:
        return max(fitting, key=lambda g: epoch_seconds(g.valid_until))
    if not grants:
        why = "the customer has not authorised any remote access on this incident"
    elif any(g.in_force(at) for g in grants):
        allowed = sorted({s for g in grants if g.in_force(at) for s in g.systems})
        why = f"the customer has not authorised {system}; authorised now: {', '.join(allowed)}"
    else:
        why = "no authorisation is in force now (not yet started, ended or withdrawn)"
    raise Refused(f"a remote session needs the customer's authorisation: {why}", rule=RULE, field="system")


@dataclass(frozen=True)
class Connection:
    """Whether an engineer may connect now, to which systems, until when."""

    may_connect: bool
    systems: tuple[str, ...] = ()
    until: datetime | None = None


def connect_now(grants: Iterable[Grant], at: datetime) -> Connection:
    """What the engineer sees on the incident: the systems of every authorisation in
    force at ``at``, until the latest of their ends."""
    current = [g for g in grants if g.in_force(at)]
    if not current:
        return Connection(False)
    last = max(current, key=lambda g: epoch_seconds(g.valid_until))
    systems = tuple(sorted({s for g in current for s in g.systems}, key=system_key))
    return Connection(True, systems, last.valid_until)
