"""Signed member tokens: `tfm1.<member id>.<expiry unix seconds>.<signature>`.

The signature is HMAC-SHA256 over a fixed context string, the member id and the expiry, with
`TROFAST_SECRET_KEY`, in unpadded base64url. Nothing is stored: a token is valid until it
expires, which is why tokens are short-lived (an hour at most). The context string keeps a
MAC made for another purpose with the same key from ever passing as a member token.

Why not itsdangerous: it is not a dependency of Trofast, and what is needed here is one
HMAC and one constant-time comparison from the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from trofast.member.errors import InvalidMemberToken, MemberTokenExpired

PREFIX = "tfm1"
_CONTEXT = b"trofast member token v1\x00"
_SHAPE = re.compile(r"^tfm1\.([1-9][0-9]{0,18})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def _signature(secret: bytes, member_id: int, expires_at: int, context: bytes = _CONTEXT) -> str:
    mac = hmac.new(secret, context + f"{member_id}.{expires_at}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def issue(secret: bytes, member_id: int, expires_at: int) -> str:
    return f"{PREFIX}.{member_id}.{expires_at}.{_signature(secret, member_id, expires_at)}"


def looks_like_token(presented: str) -> bool:
    return presented.startswith(PREFIX + ".")


def read(secret: bytes, token: str, now: int) -> int:
    """The member id the token was issued for; raises if forged, malformed or expired."""
    match = _SHAPE.match(token)
    if match is None:
        raise InvalidMemberToken("malformed member token")
    member_id, expires_at = int(match.group(1)), int(match.group(2))
    # The signature is checked before the expiry, so an expired answer is only ever given
    # for a token Trofast really issued.
    if not hmac.compare_digest(match.group(3), _signature(secret, member_id, expires_at)):
        raise InvalidMemberToken("member token signature does not match")
    if now >= expires_at:
        raise MemberTokenExpired("member token expired; ask the shop for a new one")
    return member_id


# The member page's QR code: `tfq1.<member id>.<expiry>.<signature>`, read at the till. Its
# own context string, so a QR payload never passes as a member token (which reads the
# member's data) nor the other way round. It lives long because it is printed or saved on
# a phone; what it grants is only being looked up by a till that holds a POS key.
QR_PREFIX = "tfq1"
_QR_CONTEXT = b"trofast member qr v1\x00"
_QR_SHAPE = re.compile(r"^tfq1\.([1-9][0-9]{0,18})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def issue_qr(secret: bytes, member_id: int, expires_at: int) -> str:
    signature = _signature(secret, member_id, expires_at, _QR_CONTEXT)
    return f"{QR_PREFIX}.{member_id}.{expires_at}.{signature}"


def read_qr(secret: bytes, payload: str, now: int) -> int:
    """The member id a QR payload names; raises like `read` if forged or expired."""
    match = _QR_SHAPE.match(payload.strip())
    if match is None:
        raise InvalidMemberToken("malformed member QR code")
    member_id, expires_at = int(match.group(1)), int(match.group(2))
    expected = _signature(secret, member_id, expires_at, _QR_CONTEXT)
    if not hmac.compare_digest(match.group(3), expected):
        raise InvalidMemberToken("member QR code signature does not match")
    if now >= expires_at:
        raise MemberTokenExpired("member QR code expired; show the code from the member page")
    return member_id
