"""The mail-in corpus (tests/mail/): its manifest, and each mail's bytes with the
placeholders of a test's incidents filled in (shared by the corpus tests and the
benchmark)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).with_name("mail")
MANIFEST = CORPUS / "manifest.yaml"


def entries() -> list[dict[str, Any]]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["mails"]


def name(entry: dict[str, Any]) -> str:
    return entry.get("file") or entry["generate"]


@dataclass(frozen=True)
class Threads:
    """What the placeholders stand for in one test's database."""

    token_open: str = "token-open"
    msgid_open: str = "<thread-open@contoso.example>"
    number_open: int = 1
    token_closed_recent: str = "token-closed-recent"
    msgid_closed_recent: str = "<thread-closed-recent@contoso.example>"
    msgid_closed_old: str = "<thread-closed-old@contoso.example>"

    def fill(self, raw: bytes) -> bytes:
        values = {
            "TOKEN_OPEN": self.token_open,
            "MSGID_OPEN": self.msgid_open,
            "NUMBER_OPEN": str(self.number_open),
            "TOKEN_CLOSED_RECENT": self.token_closed_recent,
            "MSGID_CLOSED_RECENT": self.msgid_closed_recent,
            "MSGID_CLOSED_OLD": self.msgid_closed_old,
            "RECIPIENTS_500": ",\n ".join(f"colleague{i:03d}@contoso.example" for i in range(499))
            + ",\n support@provider.example",
        }
        for key, value in values.items():
            raw = raw.replace(f"${{{key}}}".encode(), value.encode())
        return raw


def mail_bytes(entry: dict[str, Any], threads: Threads = Threads()) -> bytes:
    if "file" in entry:
        return threads.fill((CORPUS / entry["file"]).read_bytes())
    return threads.fill(GENERATED[entry["generate"]]())


def _with_attachment(size: int, filename: str, message_id: str) -> bytes:
    # Not random: the same bytes every time (a stable synthetic Message-ID if needed).
    data = (b"MDMP\x93\xa7\x00\x00" + bytes(range(256)) * 64) * (size // (8 + 256 * 64) + 1)
    encoded = base64.encodebytes(data[:size]).decode()  # lines of 76 characters
    return f"""From: Contoso Cloud Operations <cloud-ops@contoso.example>
To: Support <support@provider.example>
Subject: RE: Mail flow stopped
Date: Tue, 2 Jun 2026 12:00:00 +0000
Message-ID: {message_id}
In-Reply-To: ${{MSGID_OPEN}}
References: ${{MSGID_OPEN}}
X-Mailer: Microsoft Outlook 16.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_NextPart_000_0012_01DAB4C1.5E2F3A10"

------=_NextPart_000_0012_01DAB4C1.5E2F3A10
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

The memory dump is attached.

------=_NextPart_000_0012_01DAB4C1.5E2F3A10
Content-Type: application/octet-stream; name="{filename}"
Content-Disposition: attachment; filename="{filename}"
Content-Transfer-Encoding: base64

{encoded}
------=_NextPart_000_0012_01DAB4C1.5E2F3A10--
""".encode()


GENERATED = {
    "attachment_10mb": lambda: _with_attachment(10 * 1024 * 1024, "w3wp.dmp", "<dump-10mb@contoso.example>"),
    "attachment_30mb": lambda: _with_attachment(23 * 1024 * 1024, "full.dmp", "<dump-30mb@contoso.example>"),
}
