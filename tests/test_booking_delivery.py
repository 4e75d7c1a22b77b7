"""A provider user records that a proactive service was delivered (issue 13, R-CSAT-1),
on SQLite and PostgreSQL, through the real API and pages (uvicorn), the real worker
and a real SMTP server (aiosmtpd):

- ``POST /api/v1/bookings/{id}/delivery`` by an engineer moves the booking to
  delivered, records the note in the audit trail and queues exactly one survey to
  whoever booked it; a second delivery is refused (409, field ``status``,
  R-CSAT-1) and queues nothing more;
- refusals: a customer user (403, its role may not), a CSAM of another tenant (404,
  as if it did not exist), a delivery ahead of now (422, field ``at``, R-CSAT-1);
- the order page shows the order's bookings to provider users with a "Mark
  delivered" button for the scheduled ones; pressing it delivers and surveys once,
  pressing it again shows the refusal on the page, never a 500."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import test_communications
from test_web import FRIDAY, Browser, text
from unisupport.storage.tables import AuditEvent, BookingRow, SurveyRow

ORDER = "ESO-2026-0042"

# The fixtures of test_communications: the real server (per module, per database) and a real SMTP server.
web = test_communications.web
smtp = test_communications.smtp
deliver = test_communications.deliver


def book(web, on: str) -> int:
    body = {"order": ORDER, "site": "paris", "service": "workshops", "scheduled_on": on, "unit": "per-attendee"}
    body["attendees"] = 2
    with web.client("contoso_admin") as c:
        shown = c.post("/api/v1/bookings/quote", json=body).json()
        booked = c.post("/api/v1/bookings", json=body | {"expected_cost": shown["cost"]})
        assert booked.status_code == 201, booked.text
        return booked.json()["id"]


def surveys_of(web, booking_id: int) -> int:
    with web.database.reading() as session:
        query = select(func.count()).select_from(SurveyRow)
        return session.scalar(query.where(SurveyRow.occasion == "booking", SurveyRow.subject_id == booking_id))


def survey_mails(messages) -> list:
    return [m for m in messages if "/surveys/answer/" in m.get_content()]


def test_the_api_delivers_once_and_the_booker_gets_one_survey(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=6)
    booking_id = book(web, "2026-12-22")
    path = f"/api/v1/bookings/{booking_id}/delivery"
    with web.client("contoso_admin") as c:
        refused = c.post(path, json={})
        assert refused.status_code == 403 and "may not record deliveries" in refused.json()["detail"]
    with web.client("csam_other") as c:  # assigned to fabrikam: Contoso's booking does not exist for them
        refused = c.post(path, json={})
        assert (refused.status_code, refused.json()["detail"]) == (404, f"no booking {booking_id}")
    with web.client("engineer") as c:
        ahead = c.post(path, json={"at": (web.clock.now() + timedelta(hours=1)).isoformat()})
        assert ahead.status_code == 422 and [e["path"] for e in ahead.json()["errors"]] == ["at"], ahead.text
        assert surveys_of(web, booking_id) == 0  # nothing was written by the refusals
        done = c.post(path, json={"note": "two days on site", "at": web.clock.now().isoformat()})
        assert done.status_code == 200 and done.json()["status"] == "delivered", done.text
        again = c.post(path, json={})
        assert again.status_code == 409, again.text
        assert again.json()["rule"] == "R-CSAT-1" and [e["path"] for e in again.json()["errors"]] == ["status"]
    assert surveys_of(web, booking_id) == 1
    [mail] = survey_mails(deliver(web, smtp))
    assert mail["To"] == "marie.dupont@contoso.example" and "workshops" in mail.get_content()
    assert survey_mails(deliver(web, smtp)) == []  # exactly once
    with web.database.reading() as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.subject_id == booking_id, AuditEvent.tag == "booking:deliver")
        )
        assert (event.actor, event.reason, event.rule) == ("engineer@provider.example", "two days on site", "R-CSAT-1")


def test_the_order_page_button_delivers_and_a_second_press_is_refused_on_the_page(web, smtp):
    web.clock.at = FRIDAY + timedelta(days=7)
    booking_id = book(web, "2026-12-23")
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    assert f'data-testid="deliver-{booking_id}"' not in customer.get(f"/orders/{ORDER}").text
    refused = customer.post(f"/bookings/{booking_id}/delivery")
    assert refused.status_code == 403
    b = Browser(web)
    b.sign_in("engineer")
    order = b.get(f"/orders/{ORDER}")
    assert order.status_code == 200 and f'data-testid="deliver-{booking_id}"' in order.text
    shown = b.send(f"/bookings/{booking_id}/delivery")
    assert shown.url.path == f"/orders/{ORDER}" and f"Booking #{booking_id} is delivered" in text(shown)
    assert f'data-testid="deliver-{booking_id}"' not in shown.text
    with web.database.reading() as session:
        assert session.get_one(BookingRow, booking_id).status == "delivered"
    again = b.post(f"/bookings/{booking_id}/delivery")
    assert again.status_code == 303  # back to the order page with the refusal, not a 500
    assert "not scheduled" in text(b.get(again.headers["location"]))
    assert surveys_of(web, booking_id) == 1
    assert len(survey_mails(deliver(web, smtp))) == 1
