"""The REST API adapter (FastAPI): JSON under ``/api/v1``, RFC 9457 problems,
bearer tokens. Each request is one transaction (``api.unit``); the rules live in
the core and the services."""
