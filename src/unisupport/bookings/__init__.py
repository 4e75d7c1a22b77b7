"""Bookings of proactive services, as pure rules: dated rate cards (R-CAT-2), the
credits a booking costs (R-CRED-1), cancellation fees (R-BOOK-1, R-BOOK-2) and the
checks a booking must pass (R-ORD-1, R-ORD-5, R-HRS-2, R-BOOK-2, R-BOOK-3)."""
