"""Where :class:`~unisupport.errors.Refused` used to live; kept because some thirty
modules and tests import it from here. New code imports it from ``unisupport.errors``."""

from unisupport.errors import Refused

__all__ = ["Refused"]
