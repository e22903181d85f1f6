"""The roles table of docs/web.md is the one the code enforces."""

from pathlib import Path

from revrec.services import users
from revrec.vocab import ROLES

DOC = Path(__file__).parents[2] / "docs" / "web.md"


def test_the_documented_role_table_is_the_codes():
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- roles table")
    end = text.index("<!-- end of the roles table -->")
    documented = [line for line in text[start:end].splitlines() if line.startswith("| `")]
    expected = [
        f"| `{r['action']}` | {r['what']} | "
        + " | ".join("yes" if r[role] else "no" for role in ROLES)
        + " |"
        for r in users.permission_table()
    ]
    assert documented == expected
