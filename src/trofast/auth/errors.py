from trofast.errors import Forbidden, NotFound, Unauthorized


class MissingApiKey(Unauthorized):
    default_code = "missing_api_key"


class InvalidApiKey(Unauthorized):
    default_code = "invalid_api_key"


class InsufficientScope(Forbidden):
    default_code = "insufficient_scope"


class ApiKeyNotFound(NotFound):
    default_code = "api_key_not_found"
