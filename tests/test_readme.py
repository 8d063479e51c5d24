"""README.md's role table is documentation of studio/teams/access.py: they must agree."""

from pathlib import Path

from studio.teams.access import PERMISSION_LABELS, ROLE_PERMISSIONS
from studio.teams.models import Role

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_role_table_matches_the_access_module() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in PERMISSION_LABELS.values():
            rows[cells[0]] = cells[1:]
    assert set(rows) == set(PERMISSION_LABELS.values()), "README's role table is missing permissions"
    roles = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]
    for perm, label in PERMISSION_LABELS.items():
        documented = [cell.startswith("✓") for cell in rows[label]]
        actual = [perm in ROLE_PERMISSIONS[role] for role in roles]
        assert documented == actual, f"README says {documented} for {label!r}; access.py says {actual}"


def test_the_first_screen_shows_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:40])
    assert "make run" in first_screen
    assert "make test" in first_screen
