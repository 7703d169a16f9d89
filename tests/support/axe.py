"""axe-core in a real page: its serious and critical violations.

axe-core's script comes from the axe-playwright-python package on PyPI (it
ships axe.min.js), installed with the test dependencies: never from a CDN."""

from __future__ import annotations

from importlib import resources
from typing import Optional

# Impacts that fail the test; "moderate" and "minor" are reported by axe too,
# but the bar is no serious or critical violation.
FAILING = ("serious", "critical")
# Datasette's own chrome (base.html), not ours, taken out of the page before the
# check. <navigation-search> is its "Jump to" dialog (a web component, closed
# until "/" is pressed): axe-core 4.12.1 stops with "e[to] is not a function"
# while naming a node of its shadow tree, and an `exclude` does not prevent it.
DATASETTE_CHROME = ["navigation-search"]


def load_axe_script() -> str:
    """axe-core's script, from the installed package."""
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text()


def violations(page, axe_script: str, include: Optional[list[str]] = None) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (in
    the elements matching ``include`` only, when given)."""
    page.add_script_tag(content=axe_script)
    result = page.evaluate("""async ([chrome, include]) => {
        for (const selector of chrome) document.querySelectorAll(selector).forEach(e => e.remove());
        const context = include ? {include: include.map((s) => [s])} : document;
        const results = await axe.run(context, {resultTypes: ["violations"]});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
    }""", [DATASETTE_CHROME, include])
    return [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
            for v in result if v["impact"] in FAILING]
