"""unisupport: an enterprise support program run as software.

The package is split into a pure domain core (``catalog``, ``sla``, and later
``orders``, ``ledger``, ``incidents``, ``bookings``) that knows nothing of HTTP or
SQL, and thin adapters around it (``cli`` today; ``storage``, ``api``, ``web`` and
``worker`` as they arrive).
"""

__version__ = "0.1.0"
