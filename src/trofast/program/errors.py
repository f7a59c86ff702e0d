"""Errors of the programme domain."""

from __future__ import annotations

from trofast.errors import BadRequest, NotFound


class InvalidProgramme(BadRequest):
    """The document does not validate; `detail.errors` lists each path and reason."""

    default_code = "invalid_programme"


class NoProgramme(NotFound):
    default_code = "no_programme"


class ProgrammeVersionNotFound(NotFound):
    default_code = "programme_version_not_found"
