"""Domain-free helpers: base model, money, time, SQL helpers."""
