"""API keys with scopes."""
