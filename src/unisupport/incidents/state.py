"""An incident's state: whose turn it is (R-INC-1, R-INC-4, R-SLA-4; docs/decisions.md D93).

The state is finer than the lifecycle ``status`` (open, mitigated, closed) that the
first-response clock, the queue filters and the RCA rules read: every active state
(open, in progress, awaiting the customer or a third party, reopened) has the status
``open``. The allowed transitions are the table :data:`TRANSITIONS`; each names who
may make it (a person from the state control, or the system on a fact: a reply, the
customer's answer, a closure) and the rule it follows. Pure: no clock, no storage."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from unisupport.errors import InvalidInput, Refused


class State(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    AWAITING_CUSTOMER = "awaiting_customer"
    AWAITING_THIRD_PARTY = "awaiting_third_party"
    MITIGATED = "mitigated"
    CLOSED = "closed"
    REOPENED = "reopened"

    @property
    def status(self) -> str:
        """The lifecycle status this state belongs to."""
        if self in (State.MITIGATED, State.CLOSED):
            return self.value
        return "open"

    @property
    def active(self) -> bool:
        """Being worked: neither mitigated nor closed."""
        return self.status == "open"

    def label(self, lang: str = "en") -> str:
        return LABELS[self][1 if lang == "fr" else 0]


LABELS = {
    State.OPEN: ("open", "ouvert"),
    State.IN_PROGRESS: ("in progress", "en cours"),
    State.AWAITING_CUSTOMER: ("awaiting the customer", "en attente du client"),
    State.AWAITING_THIRD_PARTY: ("awaiting a third party", "en attente d'un tiers"),
    State.MITIGATED: ("mitigated", "atténué"),
    State.CLOSED: ("closed", "clos"),
    State.REOPENED: ("reopened", "rouvert"),
}


@dataclass(frozen=True)
class Transition:
    rule: str
    manual: bool  # offered by the state control (POST …/state); else only on a fact
    why: str  # what the transition means, in words


_ACTIVE = (State.OPEN, State.IN_PROGRESS, State.AWAITING_CUSTOMER, State.AWAITING_THIRD_PARTY, State.REOPENED)
_WORK = Transition("R-INC-1", True, "an engineer works the incident")
_ASK = Transition("R-SLA-4", True, "the provider waits for the customer's answer; the update clock pauses")
_THIRD = Transition("R-INC-4", True, "the provider waits for the third party the customer asked it to work with")
_MITIGATE = Transition("R-INC-1", True, "the impact is mitigated")
_CLOSE = Transition("R-INC-1", True, "the incident is closed")

# (from, to) → the transition. Anything not listed is refused.
TRANSITIONS: dict[tuple[State, State], Transition] = {
    **{(s, State.IN_PROGRESS): _WORK for s in _ACTIVE if s is not State.IN_PROGRESS},
    **{(s, State.AWAITING_CUSTOMER): _ASK for s in _ACTIVE if s is not State.AWAITING_CUSTOMER},
    **{(s, State.AWAITING_THIRD_PARTY): _THIRD for s in _ACTIVE if s is not State.AWAITING_THIRD_PARTY},
    **{(s, State.MITIGATED): _MITIGATE for s in _ACTIVE},
    **{(s, State.CLOSED): _CLOSE for s in (*_ACTIVE, State.MITIGATED)},
    (State.MITIGATED, State.IN_PROGRESS): Transition("R-INC-1", True, "the mitigation did not hold"),
    (State.CLOSED, State.REOPENED): Transition("R-INC-1", True, "the closed incident is reopened"),
}


def parse(value: str, *, field: str = "state") -> State:
    try:
        return State(str(value).strip())
    except ValueError:
        raise InvalidInput(
            f"unknown state {value!r} (expected one of {', '.join(s.value for s in State)})", field=field
        ) from None


def check(current: State, target: State, *, manual: bool = True, field: str = "state") -> Transition:
    """The transition ``current`` → ``target``, or Refused naming the field and rule."""
    transition = TRANSITIONS.get((current, target))
    if transition is None:
        allowed = ", ".join(t.value for t in targets(current, manual=manual)) or "none"
        raise Refused(
            f"an incident {current.label()} cannot become {target.label()} (allowed: {allowed})",
            rule="R-INC-1",
            field=field,
        )
    if manual and not transition.manual:
        raise Refused(f"an incident becomes {target.label()} only by itself", rule=transition.rule, field=field)
    return transition


def targets(current: State, *, manual: bool = True) -> list[State]:
    """The states ``current`` may move to (from the state control when ``manual``)."""
    return [b for (a, b), t in TRANSITIONS.items() if a is current and (t.manual or not manual)]


def after_customer_answer(current: State) -> State | None:
    """The state a customer's answer (page, API or mail) moves the incident to, if any."""
    return State.IN_PROGRESS if current is State.AWAITING_CUSTOMER else None


def after_provider_reply(current: State) -> State | None:
    """An engineer's public reply, or taking the incident, starts the work."""
    return State.IN_PROGRESS if current in (State.OPEN, State.REOPENED) else None
