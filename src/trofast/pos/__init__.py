"""Store tills: receipts in batches, applied exactly once even when a till resends."""
