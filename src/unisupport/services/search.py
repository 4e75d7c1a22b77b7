"""Full-text search over incidents: titles, business impacts and descriptions,
messages and the names of attached files (docs/decisions.md D106), always within the
caller's tenant scope (``services.scope``), internal notes and their files for
provider users only.

The entries are written by the database's own triggers (migration 0019): the write
path adds one insert per incident, message or file and no round trip. Reading:

* PostgreSQL: ``plainto_tsquery('unisupport_french', q) || plainto_tsquery(
  'unisupport_english', q)`` against a tsvector holding both stemmings of the
  unaccented words (so "imprimantes" finds "imprimante", "printers" finds "printer"
  and "reseau" finds "réseau": migration 0025), ranked by ``ts_rank``, the snippet by
  ``ts_headline``.
* SQLite: FTS5 with the Porter stemmer over unaccented words ("reseau" finds
  "réseau"), ranked by ``bm25``, the snippet by ``snippet()``.

An incident found by several entries is ranked by its best one and shows that one's
snippet. The ranking looks at the :data:`CANDIDATES` newest entries found."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import (
    ARRAY,
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from unisupport.access import Principal
from unisupport.errors import InvalidInput
from unisupport.services.scope import scoped
from unisupport.storage.tables import IncidentRow

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12
MAX_LENGTH = 200
# Around the matched words of a snippet: private-use characters no text holds, so
# that the rest is escaped as HTML and these become <mark>.
START, STOP = "\ue000", "\ue001"
# Ranked among the newest entries a search finds, at most this many: ranking every
# entry a common word finds would cost a time proportional to the whole history
# (docs/decisions.md D106). More words find older ones.
CANDIDATES = 1000

_SEARCH = table(
    "incident_search",
    column("key"),
    column("incident_id"),
    column("customer_id"),
    column("internal"),
    column("body"),
    column("document"),
)


@dataclass(frozen=True)
class Hit:
    incident_id: int
    rank: float  # higher is better, comparable within one search only
    snippet: Markup  # HTML: the text escaped, the matched words in <mark>


def words(query: str | None) -> list[str]:
    """The words searched for: letters and digits, at most :data:`MAX_WORDS`."""
    if query is not None and len(query) > MAX_LENGTH:
        raise InvalidInput(f"a search is at most {MAX_LENGTH} characters", field="q")
    return _WORD.findall(query or "")[:MAX_WORDS]


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# French and English stemming after the accents are taken off (migration 0025, D153).
FRENCH: ColumnClause[str] = literal_column("'unisupport_french'")
ENGLISH: ColumnClause[str] = literal_column("'unisupport_english'")


def _tsquery():
    q: BindParameter[str] = bindparam("search_text")
    return func.plainto_tsquery(FRENCH, q).op("||")(func.plainto_tsquery(ENGLISH, q))


def _visible(query: Select, principal: Principal) -> Select:
    scope = principal.customer_scope
    if scope is not None:
        query = query.where(_SEARCH.c.customer_id.in_(sorted(scope)))
    if not principal.role.is_provider:  # internal notes and their files: the provider's
        query = query.where(_SEARCH.c.internal.is_(False))
    return query


def _matches(session: Session, found: list[str]) -> tuple[Select, dict[str, str]]:
    if _postgres(session):
        query = select(_SEARCH.c.incident_id).where(_SEARCH.c.document.op("@@")(_tsquery()))
        return query, {"search_text": " ".join(found)}
    match = " ".join('"' + w + '"' for w in found)  # every word, each a phrase of one: nothing is syntax
    return select(_SEARCH.c.incident_id).where(text("incident_search MATCH :search_match")), {"search_match": match}


def matching_incidents(session: Session, principal: Principal, query: str | None) -> tuple[Select, dict] | None:
    """A select of the ids of the incidents the words of ``query`` find, within the
    principal's scope, and its parameters; None when ``query`` holds no word."""
    found = words(query)
    if not found:
        return None
    select_, params = _matches(session, found)
    return _visible(select_, principal), params


def search(session: Session, principal: Principal, query: str | None, *, limit: int = 50) -> list[Hit]:
    """The incidents ``query`` finds, best first, each with the snippet of its best entry."""
    found = matching_incidents(session, principal, query)
    if found is None:
        return []
    matches, params = found
    if _postgres(session):
        return _search_postgres(session, matches, params, limit)
    return _search_sqlite(session, matches, params, limit)


def _search_postgres(session: Session, matches: Select, params: dict, limit: int) -> list[Hit]:
    query = _tsquery()
    candidates = (
        matches.with_only_columns(_SEARCH.c.key, _SEARCH.c.incident_id, _SEARCH.c.document)
        .order_by(_SEARCH.c.key.desc())
        .limit(CANDIDATES)
        .cte("candidates")
    )
    rank = func.ts_rank(candidates.c.document, query)
    best = (
        select(
            candidates.c.incident_id,
            func.max(rank).label("rank"),
            func.array_agg(aggregate_order_by(candidates.c.key, rank.desc()), type_=ARRAY(BigInteger))[1].label("best"),
        )
        .group_by(candidates.c.incident_id)
        .order_by(literal_column("rank").desc(), candidates.c.incident_id.desc())
        .limit(limit)
    )
    ranked = session.execute(best, params).all()
    if not ranked:
        return []
    options = f'StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "'
    headline = func.ts_headline(ENGLISH, _SEARCH.c.body, query, options)
    snippets = dict(
        session.execute(
            select(_SEARCH.c.key, headline).where(_SEARCH.c.key.in_([r.best for r in ranked])), params
        ).all()
    )
    return [Hit(r.incident_id, float(r.rank), highlighted(snippets.get(r.best, ""))) for r in ranked]


def _search_sqlite(session: Session, matches: Select, params: dict, limit: int) -> list[Hit]:
    rowid: ColumnElement[int] = literal_column("incident_search.rowid")
    entries = session.execute(
        matches.with_only_columns(_SEARCH.c.incident_id, rowid, literal_column("bm25(incident_search)"))
        .order_by(rowid.desc())
        .limit(CANDIDATES),
        params,
    ).all()
    best: dict[int, tuple[float, int]] = {}  # incident → (rank, entry); bm25: lower is better
    for incident_id, entry, bm25 in entries:
        if incident_id not in best or -bm25 > best[incident_id][0]:
            best[int(incident_id)] = (-float(bm25), entry)
    ranked = sorted(best.items(), key=lambda b: (-b[1][0], -b[0]))[:limit]
    if not ranked:
        return []
    snippet: ColumnElement[str] = literal_column(f"snippet(incident_search, 0, '{START}', '{STOP}', ' … ', 16)")
    snippets = dict(
        session.execute(
            select(rowid, snippet)
            .select_from(_SEARCH)
            .where(text("incident_search MATCH :search_match"), rowid.in_([entry for _, (_, entry) in ranked])),
            params,
        ).all()
    )
    return [Hit(i, rank, highlighted(snippets.get(entry, ""))) for i, (rank, entry) in ranked]


def highlighted(snippet: str) -> Markup:
    """A snippet with its markers as ``<mark>``, everything else escaped."""
    return Markup(str(escape(snippet or "")).replace(START, "<mark>").replace(STOP, "</mark>"))


def search_incidents(
    session: Session, principal: Principal, query: str | None, *, status: str | None = None, limit: int = 50
) -> list[tuple[IncidentRow, Hit]]:
    """The incidents ``query`` finds with their hits, best first, of one status when given."""
    hits = search(session, principal, query, limit=limit if status is None else limit * 4)
    if not hits:
        return []
    rows = select(IncidentRow).where(IncidentRow.id.in_([h.incident_id for h in hits]))
    if status:
        rows = rows.where(IncidentRow.status == status)
    incidents = {r.id: r for r in session.scalars(scoped(rows, IncidentRow.customer_id, principal))}
    return [(incidents[h.incident_id], h) for h in hits if h.incident_id in incidents][:limit]
