"""Carts, checkouts and product views: what customers looked at and left behind."""
