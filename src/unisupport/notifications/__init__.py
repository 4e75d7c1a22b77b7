"""Notifications: an outbox of e-mails written in the same transaction as the change
they announce, rendered in the recipient's language (FR, EN) and delivered over SMTP
by a worker, each once (see ``outbox`` for what "once" means when a worker crashes)."""
