from trofast.errors import NotFound, Unprocessable


class OrderNotFound(NotFound):
    default_code = "order_not_found"


class CurrencyMismatch(Unprocessable):
    default_code = "currency_mismatch"
