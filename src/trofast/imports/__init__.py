"""Bulk import of order history from CSV, Parquet and whitespace-separated logs.

`mapping` says which column is which field, `reader` streams the file in chunks that never
split an order, `normalise` turns a chunk into orders and lines in minor units (pure), and
`service` loads a chunk set-based and idempotently through `repository`. The CLI command
`trofast import orders` owns one transaction per chunk.
"""
