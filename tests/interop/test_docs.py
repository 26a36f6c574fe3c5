"""The reference documents list exactly what the code defines."""
import re

from conftest import ROOT


def names_in(header, pattern):
    return re.findall(pattern, (ROOT / header).read_text())


def test_every_counter_is_documented_and_no_more():
    code = set(names_in("stack/stats.h", r'[CD]\(\w+, "([a-z0-9.-]+)"\)'))
    code |= set(names_in("sim/link.h", r'X\(\w+, "(link\.[a-z]+)"\)'))
    doc = set(re.findall(r"^\| `([a-z0-9.-]+)` \|", (ROOT / "docs/counters.md").read_text(),
                         re.M))
    assert len(code) > 80
    assert code - doc == set(), "undocumented"
    assert doc - code == set(), "documented but not in the code"


def test_drop_column_matches_the_code():
    drops = set(names_in("stack/stats.h", r'D\(\w+, "([a-z0-9.-]+)"\)'))
    doc = set(re.findall(r"^\| `([a-z0-9.-]+)` \| drop \|",
                         (ROOT / "docs/counters.md").read_text(), re.M))
    assert drops == doc


def test_every_sysctl_is_documented():
    code = set(names_in("stack/sysctl.h", r'X\(\w+, "(net\.[a-z0-9.-]+)"'))
    doc = (ROOT / "docs/scenario-language.md").read_text()
    assert code and all(f"`{name}`" in doc for name in code)
