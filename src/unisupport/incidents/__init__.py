"""Incidents, pure part (docs/rules.md §5–6): what counts as a first response, routing,
severity changes and their effect on the target, customer-side clocks, RCA and PIR
eligibility. Storage and notifications live in ``services.incidents``."""
