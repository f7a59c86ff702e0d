"""Errors of member tokens.

AppError
├── Unauthorized (401)
│   ├── InvalidMemberToken          invalid_member_token (malformed or bad signature)
│   └── MemberTokenExpired          member_token_expired
├── Forbidden (403)
│   └── MemberTokenMismatch         member_token_mismatch (a token for another member)
└── NotFound (404)
    └── MemberNotFound              member_not_found
"""

from __future__ import annotations

from trofast.errors import Forbidden, NotFound, Unauthorized


class InvalidMemberToken(Unauthorized):
    default_code = "invalid_member_token"


class MemberTokenExpired(Unauthorized):
    default_code = "member_token_expired"


class MemberTokenMismatch(Forbidden):
    default_code = "member_token_mismatch"


class MemberNotFound(NotFound):
    default_code = "member_not_found"
