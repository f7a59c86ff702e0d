"""Orders and receipts, their lines, refunds and shipments."""
