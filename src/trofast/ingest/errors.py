from trofast.errors import BadRequest, Conflict, PayloadTooLarge, TransientError, Unauthorized


class InvalidJson(BadRequest):
    default_code = "invalid_json"


class BodyTooLarge(PayloadTooLarge):
    default_code = "payload_too_large"


class BadSignature(Unauthorized):
    default_code = "bad_signature"


class UnknownSource(Unauthorized):
    default_code = "unknown_source"


class IdempotencyConflict(Conflict):
    default_code = "idempotency_conflict"


class ProcessingFailed(TransientError):
    """A bug or outage while applying a stored delivery; it can be replayed after a fix."""

    default_code = "processing_failed"
