"""The ledger, pure part: what an order entitles its customer to, as accounts and
postings, and when unused balances are forfeited (R-FLEX-*, R-CRED-*, R-HRS-1,
R-ORD-3). Storage applies postings append-only (``services.ledger``)."""
