"""The mail's signed links as the pages read them (R-COM-1, R-CSAT-1): the app's
``MailLinks``, built on first use from the same secret as the sessions, and the
body of a form posted without a session (one-click unsubscribe, a survey answered
from its link: the signed token in the address is the authority, not a CSRF token)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from unisupport.errors import InvalidInput
from unisupport.inputs import check_text
from unisupport.notifications.signed_links import MailLinks
from unisupport.web.page import MAX_FORM_BYTES, Form


def links_of(request: Request) -> MailLinks:
    state = request.app.state
    if getattr(state, "mail_links", None) is None:
        state.mail_links = MailLinks.from_env()
    return state.mail_links


async def token_form(request: Request) -> Form:
    """A form posted to a signed link: read like any form, without a CSRF token."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput(f"a form is at most {MAX_FORM_BYTES // 1024} KB", field="form")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form cannot be read", field="form") from None
    for name, value in pairs:
        check_text(value, field=name)
    return Form(pairs)
