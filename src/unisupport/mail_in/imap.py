"""The support mailbox over IMAP (the standard library's ``imaplib``).

Mail is read with ``BODY.PEEK[]`` (reading does not mark it seen), handled and
committed, and only then marked: handled mail gets the keyword
``$UnisupportHandled`` (and ``\\Seen``), and moves to the done folder when one is
set; mail that could not be handled gets ``$UnisupportFailed`` and ``\\Flagged``
and stays where it is, listed by ``mail-in --status``. A crash between the commit
and the marking leaves the mail unmarked: the next pass fetches it again, and its
Message-ID (``inbound_mails``) says it was handled — it is marked then, and not
handled twice. Nothing is ever deleted from the mailbox but what a move implies."""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from types import TracebackType

from unisupport.mail_in.settings import ImapEndpoint

HANDLED = "$UnisupportHandled"
FAILED = "$UnisupportFailed"
TIMEOUT = 60.0
_UID = re.compile(rb"\bUID (\d+)")


class MailboxError(Exception):
    """The mailbox cannot be reached or refused a command (the message says which)."""


class Mailbox:
    """One IMAP session on one mailbox (a context manager)."""

    def __init__(
        self,
        endpoint: ImapEndpoint,
        *,
        done_folder: str = "",
        timeout: float = TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.endpoint = endpoint
        self.done_folder = done_folder
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.uidvalidity = ""
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> Mailbox:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ session
    def open(self) -> None:
        ep = self.endpoint
        try:
            if ep.tls:
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    ep.host, ep.port, ssl_context=self.ssl_context, timeout=self.timeout
                )
            else:
                imap = imaplib.IMAP4(ep.host, ep.port, timeout=self.timeout)
                if "STARTTLS" in imap.capabilities:
                    imap.starttls(ssl_context=self.ssl_context)
                elif ep.host not in ("127.0.0.1", "::1", "localhost"):
                    imap.shutdown()
                    raise MailboxError(
                        f"{ep.host}:{ep.port} offers no STARTTLS: the password is not sent in clear (use imaps://)"
                    )
            imap.login(ep.username, ep.password)
            # The capabilities change with the login (MOVE, UIDPLUS…): ask again.
            _status, listed = imap.capability()
            if listed and isinstance(listed[-1], bytes):
                imap.capabilities = tuple(listed[-1].decode("ascii", "replace").upper().split())
            status, data = imap.select(_quoted(ep.mailbox))
            if status != "OK":
                raise MailboxError(f"no mailbox {ep.mailbox!r}: {_text(data)}")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"cannot use the mailbox {ep!r}: {exc}") from None
        self._imap = imap
        _status, values = imap.response("UIDVALIDITY")
        self.uidvalidity = _text(values) if values and values[0] else ""

    def close(self) -> None:
        if self._imap is None:
            return
        try:
            self._imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass  # the server or the connection is gone already: there is nothing left to close politely
        self._imap = None

    @property
    def imap(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxError("the mailbox is not open")
        return self._imap

    def _command(self, name: str, *args: str) -> list:
        try:
            status, data = self.imap.uid(name, *args)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP {name} failed: {exc}") from None
        if status != "OK":
            raise MailboxError(f"IMAP {name} refused: {_text(data)}")
        return data

    # ------------------------------------------------------------ reading
    def pending(self) -> list[str]:
        """The UIDs of the mail neither handled nor failed, oldest first."""
        data = self._command("SEARCH", "UNDELETED", "UNKEYWORD", HANDLED, "UNKEYWORD", FAILED)
        return sorted({uid.decode() for uid in (data[0] or b"").split()}, key=int)

    def failed(self) -> list[str]:
        data = self._command("SEARCH", "KEYWORD", FAILED)
        return sorted({uid.decode() for uid in (data[0] or b"").split()}, key=int)

    def fetch(self, uids: list[str]) -> Iterator[tuple[str, bytes]]:
        """Each mail's UID and bytes, without marking it seen."""
        if not uids:
            return
        data = self._command("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                found = _UID.search(item[0])
                if found:
                    yield found.group(1).decode(), item[1]

    def key(self, uid: str) -> str:
        """How the mail is named in ``inbound_mails.mailbox_uid``."""
        return f"{self.uidvalidity}:{uid}"

    # ------------------------------------------------------------ marking
    def mark_handled(self, uids: list[str]) -> None:
        if not uids:
            return
        ids = ",".join(uids)
        self._command("STORE", ids, "+FLAGS.SILENT", f"({HANDLED} \\Seen)")
        if not self.done_folder:
            return
        if "MOVE" in self.imap.capabilities:
            self._command("MOVE", ids, _quoted(self.done_folder))
            return
        self._command("COPY", ids, _quoted(self.done_folder))
        self._command("STORE", ids, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self.imap.capabilities:
            self._command("EXPUNGE", ids)

    def mark_failed(self, uids: list[str]) -> None:
        if uids:
            self._command("STORE", ",".join(uids), "+FLAGS.SILENT", f"({FAILED} \\Flagged)")

    def retry_failed(self) -> int:
        """Clear the failed mark, so that the next pass tries those mails again."""
        uids = self.failed()
        if uids:
            self._command("STORE", ",".join(uids), "-FLAGS.SILENT", f"({FAILED} \\Flagged)")
        return len(uids)

    def ensure_folder(self, name: str) -> None:
        """Create ``name`` unless it exists (the done folder)."""
        try:
            status, data = self.imap.create(_quoted(name))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP CREATE failed: {exc}") from None
        if status != "OK" and b"exist" not in b" ".join(d for d in data if isinstance(d, bytes)).lower():
            raise MailboxError(f"cannot create the folder {name!r}: {_text(data)}")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or [] if d)
