"""Mail in: what reaches the support address becomes a customer message on its
incident, a new incident, or a recorded refusal (docs/rules.md, "Mail in").

The pure part lives here — reading a mail (``message``), trimming quoted history
and signatures (``quoted_history``), telling automatic mail from people's
(``automatic``) and deciding where a mail goes (``thread``) — so each rule is
tested on its own; ``imap`` reads a mailbox; ``services.mail_in`` stores the
outcome in one transaction per mail."""
