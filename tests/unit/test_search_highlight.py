"""The search page marks in a file name what the query's words match, as the
engine matches them."""

import pytest

from datasette_files.views.search_page import highlight


@pytest.mark.parametrize("name, words, marked", [
    ("budget.xlsx", ["bud"], "<mark>bud</mark>get.xlsx"),
    # Three characters or more: anywhere in the name.
    ("budget.xlsx", ["udge"], "b<mark>udge</mark>t.xlsx"),
    ("report2024-final.pdf", ["2024"], "report<mark>2024</mark>-final.pdf"),
    # Shorter: only where a word starts ("_" and "-" separate words).
    ("sprint pr.txt", ["pr"], "sprint <mark>pr</mark>.txt"),
    ("my_q.txt", ["q"], "my_<mark>q</mark>.txt"),
    ("faq.txt", ["q"], "faq.txt"),
    # Diacritics folded, either way, and any case; the name keeps its own letters.
    ("Résumé 2024.pdf", ["resume"], "<mark>Résumé</mark> 2024.pdf"),
    ("resume.pdf", ["RÉSU"], "<mark>resu</mark>me.pdf"),
    # Several words; overlapping matches are marked once.
    ("projects5.png", ["pro", "5"], "<mark>pro</mark>jects5.png"),
    ("annual-report.pdf", ["report", "port"], "annual-<mark>report</mark>.pdf"),
    # Markup in a name is text.
    ("<b>plan</b>.pdf", ["plan"], "&lt;b&gt;<mark>plan</mark>&lt;/b&gt;.pdf"),
    ("a&b.txt", [], "a&amp;b.txt"),
    # A word that folds to nothing (a lone combining accent) marks nothing:
    # as an empty pattern it matched at every word start, the end included.
    ("budget.xlsx", ["\u0301"], "budget.xlsx"),
    ("draft (1)", ["draft", "\u0301"], "<mark>draft</mark> (1)"),
])
def test_highlight(name, words, marked):
    assert str(highlight(name, words)) == marked
