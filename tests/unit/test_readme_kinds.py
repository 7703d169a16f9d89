"""The READMEs' table of kinds of file is the one search uses (datasette_files.kinds)."""

from pathlib import Path

import pytest

from datasette_files.kinds import KINDS, OTHER

REPO = Path(__file__).resolve().parents[2]


def kind_table() -> str:
    rows = ["| Kind | Content types | Extensions |", "|---|---|---|"]
    for kind in KINDS:
        types = [f"`{kind.major_type}/*`"] if kind.major_type else []
        types += [f"`{content_type}`" for content_type in kind.content_types]
        rows.append(f"| `{kind.name}` ({kind.label}) | {', '.join(types)} | "
                    f"{', '.join(kind.extensions)} |")
    rows.append(f"| `{OTHER.name}` ({OTHER.label}) | anything else | |")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("readme", ["README.md", "plugins/datasette-files/README.md"])
def test_the_readme_has_the_kind_table(readme):
    assert kind_table() in (REPO / readme).read_text()
