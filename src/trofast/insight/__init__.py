"""Customer analytics on the shop's own database: the refresh job and the analytics API.

The numerics are `trofast.analytics` (pure, no database); this domain loads the order
history in columnar form (`loader`), runs the library (`refresh`, `service`) and stores or
serves the results (`repository`, `endpoints`).
"""
