"""The `file` column type: df- ids rendered as files in table and row pages."""

from __future__ import annotations

import re

import markupsafe
from datasette.column_types import ColumnType, SQLiteType

from .naming import FILE_ID_PATTERN
from .state import state

_FILE_ID = re.compile(f"^{FILE_ID_PATTERN}$")


class FileColumnType(ColumnType):
    name = "file"
    description = "File reference"
    sqlite_types = (SQLiteType.TEXT,)

    async def render_cell(self, value, column, table, database, datasette, request):
        """A <datasette-file> element holding the id as plain text.

        The element looks the file up (one batch request per page) and shows
        it only if the viewer may browse it; otherwise the text stays as is.
        """
        if not isinstance(value, str) or not _FILE_ID.match(value.strip()):
            return None
        file_id = markupsafe.escape(value.strip())
        return markupsafe.Markup(
            f'<datasette-file file-id="{file_id}">{file_id}</datasette-file>'
        )

    async def validate(self, value, datasette):
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _FILE_ID.match(value.strip()):
            return "A file column holds a file id like df-01j5a3b4c5d6e7f8g9h0jkmnpq"
        if await state(datasette).registry.files.get(value.strip()) is None:
            return f"No file has the id {value.strip()}"
        return None
