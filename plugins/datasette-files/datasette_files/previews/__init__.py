"""Previews: what a file's page shows of its content, by kind of file.

``choice.preview_kind`` names the viewer a file gets; each kind's module builds
what its template (``_files_preview_{kind}.html``) shows.
"""
