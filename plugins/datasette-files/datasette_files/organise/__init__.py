"""Organising files: folders, renames and moves, name conflicts and the trash.

Every change that touches storage goes through ``changes.apply``: recorded
in the registry's journal first, then made in storage, then committed in the
registry together with the journal's mark; a crash at any point is undone or
finished at the next start (``changes.recover``).
"""
