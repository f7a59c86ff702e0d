"""Ingestion: raw deliveries in, canonical events out, each applied exactly once."""
