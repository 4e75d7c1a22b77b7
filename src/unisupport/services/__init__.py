"""Use cases over storage: each function takes a SQLAlchemy session and the acting
user, applies the pure rules of the core, and adds rows — it never commits (the
caller's ``Database.transaction()`` does, once). Every query of customer data filters
by ``customer_id``."""
