"""Money in integer minor units, converted exactly from decimal text (never through float)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 active codes and their minor-unit exponent. Codes not listed here are refused.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)
CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 0 for code in _ZERO.split()},
    **{code: 2 for code in _TWO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise MoneyError(f"unknown ISO 4217 currency {currency!r}", "unknown_currency") from None


def normalise_currency(currency: str) -> str:
    code = currency.strip().upper()
    currency_exponent(code)
    return code


def to_minor(amount: str | int | float | Decimal, currency: str) -> int:
    """Convert a decimal amount to integer minor units of `currency`.

    Strings and ints are exact. A float is converted through its shortest repr (what the
    sender wrote in JSON), never through binary arithmetic. Amounts with more decimals than
    the currency has are rounded half-even, as payment processors do.
    """
    exponent = currency_exponent(currency)
    if isinstance(amount, bool):
        raise MoneyError("an amount cannot be a boolean", "invalid_amount")
    try:
        value = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(str(amount).strip())
    except InvalidOperation:
        raise MoneyError(f"not a decimal amount: {amount!r}", "invalid_amount") from None
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {amount!r}", "invalid_amount")
    scaled = value.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currency_exponent(currency))


def format_minor(minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return f"{from_minor(minor, currency):.{exponent}f}"
