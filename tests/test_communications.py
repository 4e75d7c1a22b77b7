"""Communications users can refuse (R-COM-1) and satisfaction surveys (R-CSAT-1),
end to end on SQLite and PostgreSQL: the real API and pages (uvicorn), the real
worker and a real SMTP server (aiosmtpd).

- an announcement reaches the contacts of the chosen customers with RFC 8058 headers;
  the one-click POST taken from the mail's own header (no session, no CSRF token)
  refuses it at once: the next announcement is not sent to that contact, while its
  service mail (an incident's acknowledgement) and its survey still are;
- a refusal made after a mail was queued withholds it when it is sent;
- closing an incident mails one survey, in the contact's language, whose link is
  answered once, without signing in; a reused link and an expired one are refused;
- the results per customer, team, service and month, with response rates, and the
  CSV (UTF-8 with a byte-order mark) show only the reader's customers."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from api_server import SEV_B, serving
from sqlalchemy import select

from test_notifications import MAIL_FROM, Inbox
from test_notifications import serving as smtp_serving
from test_web import FRIDAY, Browser, text
from unisupport.notifications.mailer import SmtpMailer
from unisupport.notifications.signed_links import MailLinks
from unisupport.services import bookings, survey_sweep
from unisupport.storage.tables import AuditEvent, OrderRow, OutboxRow, SurveyRow
from unisupport.settings import load_secret
from unisupport.worker import run_once

ANNOUNCEMENT = {
    "kind": "announcement",
    "subject_en": "New support portal features",
    "subject_fr": "Nouveautés du portail",
    "body_en": "Attachments can now be dropped on the page.",
    "body_fr": "Les pièces jointes se déposent maintenant sur la page.",
    "customers": "contoso",
}


@pytest.fixture(scope="module")
def web(backend, temp_databases):
    with serving(temp_databases.new_url(backend), FRIDAY) as server:
        yield server


@pytest.fixture
def smtp():
    with smtp_serving(Inbox()) as inbox:
        yield inbox


def deliver(web, smtp) -> list:
    """One worker pass; the messages it sent."""
    before = len(smtp.messages)
    links = MailLinks(_secret(), web.url)  # the pages' secret (serving sets it), links to this server
    run_once(web.database, SmtpMailer(smtp.url, MAIL_FROM, timeout=10), clock=web.clock, name="t", links=links)
    return smtp.messages[before:]


def _secret() -> bytes:
    return load_secret()


def to(messages, address: str) -> list:
    return [m for m in messages if m["To"] == address]


def announce(web, who="im", **changes) -> httpx.Response:
    b = Browser(web)
    b.sign_in(who)
    b.get("/announcements")
    data = ANNOUNCEMENT | changes
    preview = b.post("/announcements/preview", data)
    assert preview.status_code == 200, text(preview)[:300]
    return b, preview, b.send("/announcements", data)


def one_click(message) -> httpx.Response:
    """What a mail client does with RFC 8058 headers: POST the https URI, body fixed."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
    return httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )


def test_one_click_unsubscribe_stops_the_next_announcement_but_not_service_mail(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=1)
    _b, preview, sent = announce(web)
    assert "cloud-ops@contoso.example" in text(preview) and "marie.dupont@contoso.example" in text(preview)
    assert "alex.kim@fabrikam.example" not in text(preview)  # another customer's contact
    assert "queued for 4 contacts" in text(sent), text(sent)[:500]
    mails = deliver(web, smtp)
    [mail] = to(mails, "cloud-ops@contoso.example")
    assert mail["Subject"] == "New support portal features"
    assert "/unsubscribe/" in mail["List-Unsubscribe"] and "/preferences" in mail.get_content()
    assert "Auto-Submitted" in mail

    r = one_click(mail)
    assert r.status_code == 200 and "will receive no more" in text(r)
    with web.database.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.tag == "mail:refused")).all()[-1]
        assert event.actor == "one-click" and event.after["address"] == "cloud-ops@contoso.example"
        assert event.rule == "R-COM-1"

    # The next announcement: not to cloud-ops (refused when queued), still to the others.
    _b, preview, sent = announce(web, subject_en="Second news", subject_fr="Deuxième nouvelle")
    assert "refused" in text(preview)
    assert "queued for 3 contacts; 1 refused" in text(sent), text(sent)[:500]
    # Service mail to the same address: an incident it opens is acknowledged.
    with web.client("contoso_contact") as c:
        assert c.post("/api/v1/incidents", json=SEV_B).status_code == 201
    mails = deliver(web, smtp)
    assert [m["Subject"] for m in to(mails, "cloud-ops@contoso.example") if "Second" in m["Subject"]] == []
    assert any("acknowledg" in m.get_content().lower() for m in to(mails, "cloud-ops@contoso.example"))
    assert len([m for m in mails if m["Subject"] == "Second news"]) == 3


def test_a_refusal_after_queueing_withholds_the_mail_when_it_is_sent(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=2)
    announce(web, kind="newsletter", subject_en="Newsletter", subject_fr="Lettre")
    links = MailLinks(_secret(), web.url)
    r = httpx.post(
        f"{web.url}/unsubscribe/{links.unsubscribe_token('marie.dupont@contoso.example', 'newsletter')}",
        data={"List-Unsubscribe": "One-Click"},
        timeout=30,
    )
    assert r.status_code == 200
    mails = deliver(web, smtp)
    assert to(mails, "marie.dupont@contoso.example") == []
    assert len([m for m in mails if m["Subject"] == "Newsletter"]) == 3
    with web.database.reading() as session:
        row = session.scalar(
            select(OutboxRow).where(
                OutboxRow.kind == "newsletter", OutboxRow.recipient == "marie.dupont@contoso.example"
            )
        )
        assert row.status == "withheld" and "R-COM-1" in row.last_error


def test_the_unsubscribe_link_shows_a_confirmation_on_get_and_refuses_a_forged_token(web):
    links = MailLinks(_secret(), web.url)
    token = links.unsubscribe_token("yuki.tanaka@contoso.example", "briefing")
    r = httpx.get(f"{web.url}/unsubscribe/{token}", headers={"Accept-Language": "fr"}, timeout=30)
    assert r.status_code == 200 and "Me désabonner" in r.text
    with web.database.reading() as session:  # a GET (a link checker) changes nothing
        refused = session.scalars(select(AuditEvent).where(AuditEvent.tag == "mail:refused")).all()
        assert all(e.after["address"] != "yuki.tanaka@contoso.example" for e in refused)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert httpx.post(f"{web.url}/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"}).status_code == 422
    # A survey token is no unsubscribe token (one key per purpose).
    assert httpx.get(f"{web.url}/unsubscribe/{links.survey_token(1, FRIDAY)}").status_code == 422


def test_the_preferences_page_refuses_and_accepts_kinds_at_once(web):
    b = Browser(web)
    b.sign_in("fabrikam_admin")
    page = b.get("/preferences")
    assert page.status_code == 200 and 'data-testid="receives-survey"' in page.text
    done = b.send("/preferences", {"receives": ["announcement", "newsletter", "briefing"]})
    assert "saved" in text(done)
    assert 'value="survey" checked' not in done.text and 'value="announcement" checked' in done.text
    with web.database.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.tag == "mail:refused")).all()[-1]
        assert event.actor == "alex.kim@fabrikam.example" and event.after["kind"] == "survey"
    b.send("/preferences", {"receives": ["announcement", "newsletter", "briefing", "survey"]})
    assert 'value="survey" checked' in b.get("/preferences").text


def test_closing_an_incident_mails_one_survey_answered_once_from_its_link(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=3)
    with web.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with web.client("engineer") as c:
        r = c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Fixed"})
        assert r.status_code == 200, r.text
        # Reopened and closed again: still one survey.
        assert c.post(f"/api/v1/incidents/{incident['id']}/reopening", json={"reason": "again"}).status_code == 200
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Fixed"}).status_code == 200
    mails = deliver(web, smtp)
    surveys = [m for m in to(mails, "marie.dupont@contoso.example") if "/surveys/answer/" in m.get_content()]
    assert len(surveys) == 1
    [mail] = surveys
    assert mail["Content-Language"] == "en" and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"(https?://\S+/surveys/answer/\S+)", mail.get_content()).group(1)

    visitor = httpx.Client(timeout=30)  # no session
    page = visitor.get(link)
    assert page.status_code == 200 and 'name="score"' in page.text
    answered = visitor.post(link, data={"score": "4", "comment": "Quick, thanks"})
    assert answered.status_code == 200 and "Thank you" in answered.text
    again = visitor.post(link, data={"score": "1", "comment": "changed my mind"})
    assert again.status_code == 409 and "answered already" in again.text
    assert visitor.get(link).status_code == 409
    with web.database.reading() as session:
        row = session.scalar(select(SurveyRow).where(SurveyRow.subject_id == incident["id"]))
        assert (row.score, row.comment, row.answered_via, row.team) == (4, "Quick, thanks", "mail", incident["team"])


def test_an_expired_survey_link_is_refused(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=4)
    with web.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with web.client("engineer") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Done"}).status_code == 200
    mails = deliver(web, smtp)
    [mail] = [m for m in to(mails, "marie.dupont@contoso.example") if "/surveys/answer/" in m.get_content()]
    link = re.search(r"(https?://\S+/surveys/answer/\S+)", mail.get_content()).group(1)
    web.clock.at = FRIDAY + timedelta(days=4 + 15)
    r = httpx.post(link, data={"score": "5"}, timeout=30)
    assert r.status_code == 409 and "expired" in r.text
    web.clock.at = FRIDAY


def test_a_contact_who_refused_surveys_gets_none_but_is_counted_as_withheld(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=5)
    links = MailLinks(_secret(), web.url)
    token = links.unsubscribe_token("marie.dupont@contoso.example", "survey")
    assert httpx.post(f"{web.url}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with web.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with web.client("engineer") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Done"}).status_code == 200
    mails = deliver(web, smtp)
    mine = to(mails, "marie.dupont@contoso.example")
    assert mine and not [m for m in mine if "/surveys/answer/" in m.get_content()]  # the acknowledgement only
    with web.database.reading() as session:
        assert session.scalar(select(SurveyRow.withheld).where(SurveyRow.subject_id == incident["id"])) is True
    # Accepted again from the preferences page.
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/preferences")
    b.send("/preferences", {"receives": ["announcement", "newsletter", "briefing", "survey"]})


def test_a_delivered_booking_gets_one_survey_to_whoever_booked_it(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=6)
    body = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "workshops",
        "scheduled_on": "2026-12-21",
        "unit": "per-attendee",
        "attendees": 2,
    }
    with web.client("contoso_admin") as c:
        shown = c.post("/api/v1/bookings/quote", json=body).json()
        booking = c.post("/api/v1/bookings", json=body | {"expected_cost": shown["cost"]}).json()
    with web.database.transaction() as session:
        bookings.deliver_booking(session, booking["id"], actor="engineer@provider.example", now=web.clock.now())
    with web.database.transaction() as session, pytest.raises(Exception, match="delivered, not scheduled"):
        bookings.deliver_booking(session, booking["id"], actor="engineer@provider.example", now=web.clock.now())
    mails = deliver(web, smtp)
    [mail] = [m for m in mails if "/surveys/answer/" in m.get_content()]
    assert mail["To"] == "marie.dupont@contoso.example" and "workshops" in mail.get_content()
    with web.database.reading() as session:
        row = session.scalar(select(SurveyRow).where(SurveyRow.occasion == "booking"))
        assert (row.subject_id, row.service) == (booking["id"], "workshops")


def test_the_periodic_sweep_surveys_each_order_once_per_period(web):
    now = FRIDAY + timedelta(days=7)
    with web.database.transaction() as session:
        active = len(session.scalars(select(OrderRow.id).where(OrderRow.status == "active")).all())
        assert survey_sweep.sweep(session, now=now, interval=30) == active >= 1
    with web.database.transaction() as session:
        assert survey_sweep.sweep(session, now=now, interval=30) == 0  # once per period
        rows = session.scalars(select(SurveyRow).where(SurveyRow.occasion == "order")).all()
        assert len({(r.subject_id, r.period) for r in rows}) == len(rows)
    with web.database.transaction() as session:
        assert survey_sweep.sweep(session, now=now, interval=0) == 0  # off


def test_results_per_customer_team_service_and_month_and_csv_are_scoped(web):
    web.clock.at = FRIDAY + timedelta(days=8)
    with web.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with web.client("engineer") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Done"}).status_code == 200
    with web.database.reading() as session:
        survey = session.scalar(select(SurveyRow.id).where(SurveyRow.subject_id == incident["id"]))
    marie = Browser(web)  # answered from the portal this time
    marie.sign_in("contoso_admin")
    assert f'data-testid="open-survey-{survey}"' in marie.get("/surveys").text
    done = marie.send(f"/surveys/{survey}/answer", {"score": "5", "comment": "Quick, thanks"})
    assert "Thank you" in text(done) and f'open-survey-{survey}"' not in done.text
    assert marie.post(f"/surveys/{survey}/answer", {"score": "2"}).status_code == 303  # refused: answered once
    with web.database.reading() as session:
        assert session.get(SurveyRow, survey).score == 5
    b = Browser(web)
    b.sign_in("csam")
    page = b.get("/surveys")
    assert page.status_code == 200
    assert 'data-testid="surveys-customer-contoso"' in page.text and "Quick, thanks" in page.text
    for grouping in ("customer", "team", "service", "month"):
        assert f'data-testid="surveys-by-{grouping}"' in page.text
    csv = b.get("/surveys/results.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "customer,contoso," in csv.text and "response_rate" in csv.text

    other = Browser(web)
    other.sign_in("csam_other")  # fabrikam's CSAM: sees none of contoso's answers
    page = other.get("/surveys")
    assert "contoso" not in page.text and "Quick, thanks" not in page.text
    assert "contoso" not in other.get("/surveys/results.csv").text


def test_tenant_isolation_of_the_new_routes(web):
    with web.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with web.client("engineer") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Done"}).status_code == 200
    customer = Browser(web)
    customer.sign_in("fabrikam_admin")
    assert customer.get("/announcements").status_code == 403
    assert "Quick, thanks" not in customer.get("/surveys").text
    assert customer.get("/surveys/results.csv").status_code == 403
    with web.database.reading() as session:
        contoso_survey = session.scalar(select(SurveyRow.id).where(SurveyRow.subject_id == incident["id"]))
    customer.get("/surveys")
    r = customer.post(f"/surveys/{contoso_survey}/answer", {"score": "1"})
    assert r.status_code == 404  # another customer's survey looks missing
    with web.database.reading() as session:
        assert session.get(SurveyRow, contoso_survey).answered_at is None
    # Another CSAM's customer looks missing, and sends nothing.
    other = Browser(web)
    other.sign_in("csam_other")
    other.get("/announcements")
    r = other.post("/announcements/preview", ANNOUNCEMENT)
    assert r.status_code == 404
    assert other.post("/announcements", ANNOUNCEMENT).status_code == 404
    with web.database.reading() as session:
        assert not session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key.like("%csam2%"))).all()
    assert Browser(web).get("/preferences").status_code in (303, 307)  # sign in first
