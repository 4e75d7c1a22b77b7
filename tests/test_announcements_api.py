"""Announcements through the API (issue 13, R-COM-1), on SQLite and PostgreSQL, with the
real server (uvicorn), the real worker and a real SMTP server (aiosmtpd):
``POST /api/v1/announcements/audience`` lists who would receive it and who refused its
kind; ``POST /api/v1/announcements`` queues exactly the mails the preview promised, in
each contact's language with a one-click unsubscribe; customers may not send (403), a
CSAM names only its own customers (another's looks missing, 404), nobody to write to is
refused by field (422)."""

from __future__ import annotations

from datetime import timedelta


import test_communications
from test_web import FRIDAY
from unisupport.services.mail_preferences import set_preference

NEWS = {
    "subject_en": "New portal features",
    "subject_fr": "Nouveautés du portail",
    "body_en": "Attachments can now be dropped on the page.",
    "body_fr": "Les pièces jointes se déposent maintenant sur la page.",
    "customers": ["contoso"],
}

# The fixtures of test_communications: the real server (per module, per database) and a real SMTP server.
web = test_communications.web
smtp = test_communications.smtp
deliver = test_communications.deliver


def test_the_preview_says_who_receives_and_the_send_queues_exactly_those(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=1)
    with web.client("im") as c:
        everyone = c.post("/api/v1/announcements/audience", json=NEWS).json()
        assert len(everyone) >= 2 and all(r["receives"] for r in everyone), everyone
    refusing = everyone[0]["email"]
    with web.database.transaction() as session:
        set_preference(
            session, address=refusing, kind="announcement", receives=False, actor=refusing, now=web.clock.now(), how="t"
        )
    with web.client("csam") as c:  # assigned to Contoso
        preview = c.post("/api/v1/announcements/audience", json=NEWS).json()
        [no] = [r for r in preview if not r["receives"]]
        assert no["email"] == refusing and "R-COM-1" in no["why"]
        sent = c.post("/api/v1/announcements", json=NEWS)
        assert sent.status_code == 201, sent.text
        assert (sent.json()["queued"], sent.json()["refused"]) == (len(preview) - 1, 1)
    mails = [m for m in deliver(web, smtp) if "New portal features" in m["Subject"] or "Nouveautés" in m["Subject"]]
    assert sorted(m["To"] for m in mails) == sorted(r["email"] for r in preview if r["receives"])
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in mails)


def test_refusals_name_the_field_and_never_send(web, smtp):
    with web.client("contoso_admin") as c:
        forbidden = c.post("/api/v1/announcements", json=NEWS)
        assert forbidden.status_code == 403 and "may not send announcements" in forbidden.json()["detail"]
    with web.client("csam") as c:
        other = c.post("/api/v1/announcements/audience", json=NEWS | {"customers": ["fabrikam"]})
        assert (other.status_code, other.json()["detail"]) == (404, "no customer 'fabrikam'")
    with web.client("im") as c:
        empty = c.post("/api/v1/announcements", json=NEWS | {"customers": []})
        assert empty.status_code == 422 and [e["path"] for e in empty.json()["errors"]] == ["customers"]
    assert [m for m in deliver(web, smtp) if "New portal features" in m["Subject"]] == []
