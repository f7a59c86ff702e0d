"""Customers, their identities across channels, and consent."""
