"""`testcase NAME`: the expectations after it, up to the next one, are one
test case of the JUnit report and of the summary line; a case fails when
any of its expectations does; a case without expectations, a name given
twice or a missing name is refused with file:line."""
import xml.etree.ElementTree as ET

from conftest import run

SCN = """\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24
at 1s ping a 192.0.2.2 count 2 as p quiet
expect p sent == 2
testcase good
expect p received == 2
expect a icmp.inhist.echoreply == 2
testcase bad
expect p received == 3
expect a icmp.outhist.echo == 2
expect b icmp.inhist.echo == 1
end 2s
"""


def test_testcases_in_junit(ipsecsim, tmp_path):
    scn = tmp_path / "t.scn"
    scn.write_text(SCN)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "--junit", tmp_path / "out" / "j.xml", scn)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert f"FAIL testcase bad ({scn}:8): 2 of 3 expectations failed" in lines
    assert ("end at 2.000000000 s: 6 expectations, 4 held, 2 failed; "
            "2 test cases, 1 passed, 1 failed") in lines
    suite = ET.parse(tmp_path / "out" / "j.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = suite.findall("testcase")
    # the expectation before any testcase statement is its own case
    assert [c.get("name") for c in cases] == ["t.scn:4: expect p sent == 2", "good", "bad"]
    assert cases[0].find("failure") is None and cases[1].find("failure") is None
    fails = cases[2].findall("failure")
    assert len(fails) == 1 and fails[0].get("message") == "2 of 3 expectations failed"
    assert fails[0].text.splitlines() == [
        "t.scn:9: expect p received == 3: got 2",
        "t.scn:11: expect b icmp.inhist.echo == 1: got 2"]


def test_testcases_all_passing(ipsecsim, tmp_path):
    scn = tmp_path / "t.scn"
    scn.write_text(SCN.replace("received == 3", "received == 2").replace(
        "inhist.echo == 1", "inhist.echo == 2"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-2].endswith("; 2 test cases, 2 passed, 0 failed")


def test_testcase_refused(ipsecsim, tmp_path):
    scn = tmp_path / "bad.scn"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "testcase\ntestcase x\nexpect a ip.total == 0\ntestcase x\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == f"{scn}:3: usage: testcase NAME"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "testcase x\nexpect a ip.total == 0\ntestcase x\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{scn}:5: test case 'x' already begun at {scn}:3"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "testcase empty\ntestcase y\nexpect a ip.total == 0\ntestcase last\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"{scn}:3: test case 'empty' has no expectation",
                                     f"{scn}:6: test case 'last' has no expectation"]
