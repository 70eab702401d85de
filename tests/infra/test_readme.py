"""The README a newcomer reads first: its links stay inside the repository and resolve, its quick
start is two commands, and the targets it names exist in the Makefile."""

import re

from infra.run import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_links_resolve_inside_the_repository():
    links = [
        target
        for target in re.findall(r"\]\(([^)#\s]+)", README)
        if not re.match(r"[a-z]+:", target)  # http(s):, mailto:
    ]
    assert "docs/SPEC.md" in links and "docs/ARCHITECTURE.md" in links
    for target in links:
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT), target
        assert path.exists(), target
    assert "../shared" not in README


def test_quick_start_is_two_commands_and_reset_exists():
    quick_start = README.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in quick_start.strip().splitlines()] == [
        ["make", "run"],
        ["make", "test"],
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^reset:", makefile, re.M)
    assert "make reset" in README
