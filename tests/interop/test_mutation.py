"""The mutant list of `make mutate` stays applicable to the tree as it is
(a changed line would leave a mutant that plants nothing), and a broken
list is refused with file:line.  The slow run itself is `make mutate`."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("mutate", ROOT / "tests/mutation/mutate.py")
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)


def test_every_mutant_applies_exactly_once():
    mutants = mutate.parse(mutate.LIST)
    assert len(mutants) >= 15
    for m in mutants:
        mutate.check_applies(m, ROOT)  # raises unless "from" occurs exactly once
        assert m["what"].strip(), m["name"]
    # the five bugs of issue 14 stay on the list
    names = {m["name"] for m in mutants}
    assert {"inpolicy-peer", "inpolicy-proto", "esp-icv-skip-first", "esp6-fixed-nh",
            "rng-node-name"} <= names


@pytest.mark.parametrize("text, message", [
    ("name a\nfile x.c\nfrom y\nto z\n", "mutant lacks what"),
    ("name a\nfile x.c\nfrom y\nto z\nwhat w\nwhen now\n", "unknown key 'when'"),
    ("name a\nname b\n", "'name' given twice"),
    ("  runs on\n", "a continuation line with nothing before it"),
    ("name a\nfile x.c\nfrom y\nto z\nwhat w\n\nname a\nfile x.c\nfrom y\nto z\nwhat w\n",
     "names used twice: a"),
])
def test_a_broken_list_is_refused_with_its_line(tmp_path, text, message):
    p = tmp_path / "mutants.txt"
    p.write_text(text)
    with pytest.raises(mutate.ListError) as e:
        mutate.parse(p)
    assert message in str(e.value)
    assert str(e.value).startswith(str(p))


def test_a_from_line_that_is_not_there_is_refused(tmp_path):
    (tmp_path / "x.c").write_text("int a;\nint a;\n")
    for frm, count in (("int b;", 0), ("int a;", 2)):
        m = {"name": "m", "file": "x.c", "from": frm, "to": "int c;", "what": "w", "line": 3}
        with pytest.raises(mutate.ListError) as e:
            mutate.check_applies(m, tmp_path)
        assert f"'from' occurs {count} times in x.c" in str(e.value)
