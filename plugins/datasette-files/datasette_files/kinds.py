"""Kinds of file (image, PDF, spreadsheet...), as search filters by them.

A file's kind comes from its content type and, when the type says little
(``application/octet-stream`` from a browser that did not know), from its
extension. The registry keeps it as a generated column built from
``kind_sql()``, so the rules live here once, for Python and SQL alike; the
README's table is this one. The first rule that matches wins, in this order:
an exact content type, a major type (``image/*``...), an extension, then
``text/*``; everything else is ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    content_types: tuple[str, ...] = ()
    major_type: str = ""  # "image" matches every image/* type
    extensions: tuple[str, ...] = ()


KINDS: tuple[Kind, ...] = (
    Kind("image", "Image", major_type="image", extensions=(
        "jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "heif", "tif", "tiff", "bmp",
        "svg", "ico")),
    Kind("video", "Video", major_type="video", extensions=(
        "mp4", "m4v", "mov", "webm", "mkv", "avi", "wmv", "mpg", "mpeg")),
    Kind("audio", "Audio", major_type="audio", extensions=(
        "mp3", "m4a", "aac", "wav", "flac", "ogg", "oga", "opus", "wma")),
    Kind("pdf", "PDF", content_types=("application/pdf",), extensions=("pdf",)),
    Kind("document", "Document", content_types=(
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text", "application/rtf", "text/rtf",
    ), extensions=("doc", "docx", "odt", "rtf", "pages")),
    Kind("spreadsheet", "Spreadsheet", content_types=(
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet", "text/csv",
        "text/tab-separated-values",
    ), extensions=("xls", "xlsx", "ods", "csv", "tsv", "numbers")),
    Kind("presentation", "Presentation", content_types=(
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.presentation",
    ), extensions=("ppt", "pptx", "odp", "key")),
    Kind("archive", "Archive", content_types=(
        "application/zip", "application/gzip", "application/x-gzip", "application/x-tar",
        "application/x-7z-compressed", "application/vnd.rar", "application/x-rar-compressed",
        "application/x-bzip2", "application/x-xz", "application/zstd",
    ), extensions=("zip", "gz", "tgz", "tar", "7z", "rar", "bz2", "xz", "zst")),
    Kind("text", "Text", major_type="text", content_types=(
        "application/json", "application/xml", "application/javascript",
        "application/x-yaml", "application/yaml", "application/toml", "application/sql",
    ), extensions=(
        "txt", "md", "markdown", "json", "xml", "yaml", "yml", "toml", "ini", "log", "py",
        "js", "ts", "html", "htm", "css", "sql", "sh")),
)
OTHER = Kind("other", "Other")
KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS) + (OTHER.name,)
LABELS = {kind.name: kind.label for kind in (*KINDS, OTHER)}


def kind_of(content_type: str | None, filename: str | None) -> str:
    """The kind of a file with this content type and name, as ``kind_sql`` says."""
    content_type = (content_type or "").lower()
    extension = extension_of(filename)
    for kind in KINDS:
        if content_type in kind.content_types:
            return kind.name
    for kind in KINDS:
        if kind.major_type and content_type.startswith(kind.major_type + "/"):
            return kind.name
    for kind in KINDS:
        if extension and extension in kind.extensions:
            return kind.name
    return "text" if content_type.startswith("text/") else OTHER.name


def extension_of(filename: str | None) -> str:
    """The lowercased text after the name's last dot ('' without one)."""
    name = filename or ""
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def kind_sql(content_type: str = "content_type", filename: str = "filename") -> str:
    """``kind_of`` as an SQL expression over two columns (built-in functions
    only, so a generated column can use it). Simple CASEs evaluate their
    operand once: a search filtering rows by kind evaluates this per row."""
    lowered = f"lower({content_type})"
    # The text after the last dot: rtrim strips every character but dots from
    # the right, leaving the name up to its last dot.
    extension = (f"CASE WHEN instr({filename}, '.') > 0 THEN lower(substr({filename}, "
                 f"length(rtrim({filename}, replace({filename}, '.', ''))) + 1)) ELSE '' END")
    by_type = " ".join(f"WHEN '{t}' THEN '{kind.name}'"
                       for kind in KINDS for t in kind.content_types)
    by_major = " ".join(f"WHEN '{kind.major_type}/' THEN '{kind.name}'"
                        for kind in KINDS if kind.major_type)
    by_extension = " ".join(f"WHEN '{e}' THEN '{kind.name}'"
                            for kind in KINDS for e in kind.extensions)
    rest = f"CASE WHEN substr({lowered}, 1, 5) = 'text/' THEN 'text' ELSE '{OTHER.name}' END"
    return (f"CASE {lowered} {by_type} ELSE "
            f"CASE substr({lowered}, 1, instr({lowered}, '/')) {by_major} ELSE "
            f"CASE {extension} {by_extension} ELSE {rest} END END END")

