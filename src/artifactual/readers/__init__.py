"""Readers: one module per input format, auto-detected; ``read(path) -> Iterator[Record]``.

Formats register themselves with ``@reader("name")`` (see :mod:`.base`); every
module in this package is imported on first use, so a new format is one new module.
"""

from artifactual.readers.base import (ERROR_COLUMNS, ErrorLog, Location, Reader, ReadError,
                                      available_formats, get_reader, read, reader)

__all__ = ["read", "reader", "get_reader", "available_formats", "Reader", "Location",
           "ReadError", "ErrorLog", "ERROR_COLUMNS"]
