"""Errors of a bulk import; each names the problem with a stable code.

BadRequest
└── ImportFileError        the file cannot be imported as it is (nothing of its chunk is written)
    └── MappingError       the columns or options do not describe an import
"""

from __future__ import annotations

from trofast.errors import BadRequest


class ImportFileError(BadRequest):
    default_code = "invalid_import_file"


class MappingError(ImportFileError):
    default_code = "invalid_mapping"
