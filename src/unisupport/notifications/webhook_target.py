"""Where a webhook may go (SSRF, docs/webhooks.md): an ``https://`` URL whose host
resolves only to public addresses. Loopback, private, link-local, multicast,
reserved and unspecified addresses are refused unless the operator allows their
network (``UNISUPPORT_WEBHOOK_ALLOW_PRIVATE``); a target inside an allowed network
may also be ``http://`` (local testing). Checked when a subscription is made and
again before every try (a name may resolve elsewhere later)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from unisupport.errors import InvalidInput

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_target(
    url: str, allow_private: Sequence[str] = (), *, resolver: Resolver = resolve, field: str = "url"
) -> str:
    """``url`` if a webhook may be sent there; InvalidInput naming ``field`` otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(
            f"{url!r} is not a URL (such as https://hooks.example.com/unisupport)", field=field
        ) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an https:// URL", field=field)
    if parts.username or parts.password:
        raise InvalidInput("a webhook URL carries no user or password (the signature authenticates)", field=field)
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError):
        raise InvalidInput(f"{parts.hostname!r} does not resolve to an address", field=field) from None
    if not addresses:
        raise InvalidInput(f"{parts.hostname!r} does not resolve to an address", field=field)
    allowed = [ipaddress.ip_network(n) for n in allow_private]
    local = True  # every address is in an allowed network
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if _public(address):
            local = False
            continue
        if not any(address in network for network in allowed):
            raise InvalidInput(
                f"{parts.hostname} resolves to {address}, a loopback, private or link-local address: "
                "refused unless the operator allows its network (UNISUPPORT_WEBHOOK_ALLOW_PRIVATE)",
                field=field,
            )
    if parts.scheme == "http" and not local:
        raise InvalidInput(
            f"{url!r} is not https:// (http:// only to a network the operator allows for local testing)", field=field
        )
    return url.strip()
