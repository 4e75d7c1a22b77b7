"""The part of a customer's mail worth showing: its new text, without the quoted
history and the signature below it (the whole mail is kept as an ``.eml``).

Line-based, one marker at a time, in the order mail clients write them
(docs/decisions.md D63 says why no library did this without losing text):

* an attribution line ends the new text: ``On … wrote:`` (Gmail, Apple Mail,
  Thunderbird; Gmail wraps it on two or three lines), ``Le … a écrit :``,
  ``Am … schrieb …:``, ``El … escribió:``;
* so does Outlook's header block (``From:``/``De :`` followed by at least two of
  ``Sent:``/``Envoyé :``, ``To:``/``À :``, ``Subject:``/``Objet :``, ``Date:``,
  ``Cc:``), with the line of underscores Outlook puts above it, and the
  ``-----Original Message-----`` / ``Message d'origine`` separators;
* a block of ``>`` lines that runs to the end of the mail is quoted history;
  ``>`` lines between new paragraphs (an answer written between the questions)
  are kept;
* the signature starts at the ``-- `` separator (RFC 3676); a last line such as
  ``Sent from my iPhone`` or ``Envoyé de mon iPhone`` goes too.

A forwarded mail (``Fwd:``, ``FW:``, ``TR:`` subjects, or a "Forwarded message"
separator) is the content itself: nothing below the forward is cut. Nothing is
ever cut to emptiness: a mail that is all quotation is shown whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

LONGEST_MARKER = 400  # an attribution or header line is short; longer lines are text

_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        On\s.{1,300}\swrote\s?:
      | Le\s.{1,300}\sa\s+[ée]crit\s?:
      | Am\s.{1,300}\sschrieb\s.{0,300}:
      | El\s.{1,300}\sescribi[óo]\s?:
      | .{1,300}<[^<>\s]+@[^<>\s]+>\s+(?:wrote|a\s+[ée]crit)\s?:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:original\s+message|message\s+d'origine|message\s+original|ursprüngliche\s+nachricht"
    r"|mensaje\s+original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*-{2,}\s*(?:forwarded\s+message|message\s+transf[ée]r[ée]|begin\s+forwarded\s+message"
    r"|weitergeleitete\s+nachricht)\s*:?\s*-*\s*$|^\s*(?:begin\s+forwarded\s+message|d[ée]but\s+du\s+message"
    r"\s+r[ée]exp[ée]di[ée])\s*:\s*$",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|ré)\s*:\s*)*(?:fwd?|tr|wg|rv)\s*:", re.IGNORECASE)
_FROM = re.compile(r"^\s*\*?(?:from|de|von|da|van)\s*\*?\s*:\s*\*?\s*\S", re.IGNORECASE)
_HEADER = re.compile(
    r"^\s*\*?(?:sent|date|envoy[ée]|gesendet|datum|to|[àa]|an|subject|objet|betreff|cc)\s*\*?\s*:", re.IGNORECASE
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^--\s?$")
_DEVICE = (
    r"(?:iphone|ipad|android|samsung|galaxy|blackberry|huawei|mobile|smartphone|t[ée]l[ée]phone|appareil"
    r"|mail\s+for\s+windows|outlook|yahoo\s+mail|proton\s?mail)"
)
_SENT_FROM = re.compile(
    rf"^\s*(?:sent\s+from\s+(?:my\s+)?{_DEVICE}|envoy[ée]\s+(?:de|depuis)\s+(?:mon\s+|l'\s*)?{_DEVICE}"
    r"|get\s+outlook\s+for|obtenir\s+outlook\s+pour|t[ée]l[ée]chargez\s+outlook\s+pour)\b.{0,60}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Shown:
    """The text to show, and whether anything was left out of it."""

    text: str
    trimmed: bool


def is_forward(subject: str) -> bool:
    """``Fwd: …``, ``FW: …``, ``TR: …`` (Outlook in French), ``WG: …``, ``RV: …``."""
    return bool(_FORWARD_SUBJECT.match(subject or ""))


def shown_text(text: str, *, subject: str = "") -> Shown:
    """The new text of a mail body (see the module)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end, forward = (len(lines), True) if is_forward(subject) else _history_start(lines)
    if not forward:
        end = _quoted_tail_start(lines, end)
    end = _signature_start(lines, end)
    kept = lines[:end]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    shown = "\n".join(line.rstrip() for line in kept)
    whole = "\n".join(line.rstrip() for line in lines).strip("\n")
    if not shown.strip():
        return Shown(whole, False)
    return Shown(shown, shown != whole)


def _history_start(lines: list[str]) -> tuple[int, bool]:
    """The first line of quoted history (len(lines) when there is none), and whether
    a forward separator came first: what follows it is forwarded content, kept."""
    for i, line in enumerate(lines):
        if len(line) > LONGEST_MARKER or not line.strip():
            continue
        if _FORWARDED.match(line):
            return len(lines), True
        if i > 0 and (_ORIGINAL.match(line) or _is_attribution(lines, i) or _is_header_block(lines, i)):
            return _with_separator_above(lines, i), False
    return len(lines), False


def _is_attribution(lines: list[str], i: int) -> bool:
    # Gmail wraps a long attribution: "On Mon, … Support <" / "support@x> wrote:".
    # Only consecutive lines, and only when no later one is an attribution itself
    # ("Le problème persiste." above "Le lun. … a écrit :" is text, then the marker).
    for span in (1, 2, 3):
        parts = [part.strip().lstrip("> ") for part in lines[i : i + span]]
        if len(parts) < span or not all(parts):
            return False
        joined = " ".join(parts)
        if len(joined) > LONGEST_MARKER:
            return False
        if _ATTRIBUTION.match(joined):
            return not any(_ATTRIBUTION.match(part) for part in parts[1:])
    return False


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _FROM.match(lines[i].lstrip("> ")):
        return False
    following = [line for line in lines[i + 1 : i + 8] if line.strip()][:5]
    return sum(1 for line in following if _HEADER.match(line.lstrip("> "))) >= 2


def _with_separator_above(lines: list[str], i: int) -> int:
    """Outlook draws a line of underscores above its header block; it goes too."""
    j = i - 1
    while j > 0 and not lines[j].strip():
        j -= 1
    return j if j > 0 and _UNDERSCORES.match(lines[j]) else i


def _quoted_tail_start(lines: list[str], end: int) -> int:
    """Where a run of ``>`` lines (and blank lines) that lasts to ``end`` starts."""
    start = end
    quoted = False
    for j in range(end - 1, -1, -1):
        line = lines[j].strip()
        if line.startswith(">"):
            start, quoted = j, True
        elif line and not _SENT_FROM.match(line):
            break
        elif not line:
            start = j if quoted else start
    return start if quoted else end


def _signature_start(lines: list[str], end: int) -> int:
    for i in range(1, end):
        if _SIGNATURE.match(lines[i]) and any(line.strip() for line in lines[:i]):
            end = i
            break
    while end > 0:
        last = end - 1
        while last > 0 and not lines[last].strip():
            last -= 1
        if last > 0 and len(lines[last]) <= LONGEST_MARKER and _SENT_FROM.match(lines[last]):
            end = last
        else:
            break
    return end
