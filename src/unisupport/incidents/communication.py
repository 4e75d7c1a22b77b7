"""Communications on an incident and the first-response rule (R-SEV-2)."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # from the provider


class Medium(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    PORTAL = "portal"


class OpeningChannel(StrEnum):
    """How the incident reached the provider (R-INC-1)."""

    PHONE = "phone"
    WEB = "web"
    CHAT = "chat"
    PORTAL = "portal"  # the cloud services portal
    API = "api"
    EMAIL = "email"  # a mail to the support address from a designated contact (mail-in)


FIRST_RESPONSE_MEDIA = frozenset({Medium.PHONE, Medium.EMAIL})


def counts_as_first_response(direction: Direction, medium: Medium, automated: bool) -> bool:
    """R-SEV-2: the first *non-automated* contact *by phone or e-mail* from the
    provider. An automatic acknowledgement never satisfies the target."""
    return direction is Direction.OUTBOUND and medium in FIRST_RESPONSE_MEDIA and not automated


def why_not_first_response(direction: Direction, medium: Medium, automated: bool) -> str | None:
    """The reason a communication does not count, in words (None when it counts)."""
    if automated:
        return "automated messages never count as a first response (R-SEV-2)"
    if direction is not Direction.OUTBOUND:
        return "only a contact from the provider counts as a first response (R-SEV-2)"
    if medium not in FIRST_RESPONSE_MEDIA:
        return f"a first response is by phone or e-mail, not {medium.value} (R-SEV-2)"
    return None
