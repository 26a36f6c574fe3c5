"""The command line as a CI system uses it: exit codes, file:line errors,
JUnit reports, --seed, -D, --stats and the help text."""
import re
import subprocess
import xml.etree.ElementTree as ET

from conftest import ROOT, run


def write(tmp_path, text, name="t.scn"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """seed 1
node a b
link l a=10.0.0.1/24 b=10.0.0.2/24 delay 1ms
at 1s ping a 10.0.0.2 count 2
end 4s
expect a icmp.inhist.echoreply == 2
"""


def test_all_held_exits_0(ipsecsim, tmp_path):
    r = run(ipsecsim, "run", "-o", tmp_path / "o", write(tmp_path, GOOD))
    assert r.returncode == 0
    assert "1 expectation, 1 held, 0 failed" in r.stdout
    assert r.stderr == ""  # no progress line when stderr is not a terminal


def test_failed_expectation_exits_1_and_says_why(ipsecsim, tmp_path):
    f = write(tmp_path, GOOD.replace("== 2", "== 3"))
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 1
    assert f"FAIL {f}:6: expect a icmp.inhist.echoreply == 3: got 2" in r.stdout


def test_bad_file_exits_2_with_file_and_line(ipsecsim, tmp_path):
    f = write(tmp_path, "node a\nlink l a=10.0.0.1/24 b=10.0.0.2/24\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 2
    assert r.stderr == f"{f}:2: unknown node 'b'\n"


def test_error_in_included_file_names_that_file(ipsecsim, tmp_path):
    write(tmp_path, "node a\nnode a\n", "inc.scn")
    f = write(tmp_path, "include inc.scn\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 2
    assert r.stderr == f"{tmp_path}/inc.scn:2: 'a' is already defined\n"


def test_missing_file_and_bad_usage_exit_2(ipsecsim, tmp_path):
    assert run(ipsecsim, "run", tmp_path / "nope.scn").returncode == 2
    assert run(ipsecsim).returncode == 2
    assert run(ipsecsim, "frobnicate").returncode == 2
    assert run(ipsecsim, "run", "--seed", "x", "f.scn").returncode == 2
    assert run(ipsecsim, "run", "--bogus", "f.scn").returncode == 2


def test_junit_report(ipsecsim, tmp_path):
    """The report's path is the current directory's, as every path on the
    command line; the suite is the scenario's name and test names carry the
    file's name, not the path as typed; a file that does not load still
    gets a report: one failed test case with its errors."""
    f = write(tmp_path, GOOD + "expect b icmp.inhist.echo == 5\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", "--junit", "report.xml", f, cwd=tmp_path)
    assert r.returncode == 1
    assert not (tmp_path / "o" / "report.xml").exists()
    root = ET.parse(tmp_path / "report.xml").getroot()
    suite = root.find("testsuite")
    assert suite.get("name") == "t"
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert [c.find("failure") is None for c in cases] == [True, False]
    assert cases[1].find("failure").get("message") == "got 2"
    assert cases[1].get("name") == "t.scn:7: expect b icmp.inhist.echo == 5"
    bad = tmp_path / "bad.scn"
    bad.write_text("node a\nbogus\nexpect a ip.nosuch == 1\n")
    r = run(ipsecsim, "run", "-o", "o", "--junit", "bad.xml", "bad.scn", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["bad.scn:2: unknown statement 'bogus'",
                                     "bad.scn:3: unknown counter 'ip.nosuch' (see "
                                     "docs/counters.md)"]
    suite = ET.parse(tmp_path / "bad.xml").getroot().find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("bad", "1", "1")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "load"
    assert case.find("failure").text == r.stderr


def test_seed_changes_only_what_is_random(ipsecsim, tmp_path):
    lossy = ROOT / "scenarios" / "lossy-link.scn"
    same = run(ipsecsim, "run", "-q", "-o", tmp_path / "a", lossy)
    other = run(ipsecsim, "run", "-q", "-o", tmp_path / "b", "--seed", "43", lossy)
    assert same.returncode == 0
    assert other.returncode == 1  # the stated counts belong to seed 42
    assert "expect l1 link.lost == 29: got" in other.stdout


def test_define_overrides_file(ipsecsim, tmp_path):
    text = 'N="2"\n' + GOOD.replace("count 2", "count $N").replace("== 2", "== $N")
    f = write(tmp_path, text)
    assert run(ipsecsim, "run", "-o", tmp_path / "o", f).returncode == 0
    r = run(ipsecsim, "run", "-o", tmp_path / "o", "-D", "N=3", f)
    assert r.returncode == 0 and "icmp.inhist.echoreply == 3" in r.stdout


def test_stats_lists_counters(ipsecsim, tmp_path):
    r = run(ipsecsim, "run", "-q", "--stats", "-o", tmp_path / "o", write(tmp_path, GOOD))
    lines = r.stdout.splitlines()
    a = lines.index("node a")
    assert lines[a + 1].split() == ["ether.ipackets", "3"]
    assert "  icmp.outhist.echo            2" in lines
    assert "link l" in lines


def test_help_describes_every_option(ipsecsim):
    r = run(ipsecsim, "run", "--help")
    assert r.returncode == 0
    for opt in ("-o, --out DIR", "--seed N", "-D NAME=VALUE", "--junit FILE", "--stats"):
        assert opt in r.stdout
    top = run(ipsecsim, "--help")
    assert top.returncode == 0 and "run " in top.stdout


def test_outputs_go_under_the_output_directory(ipsecsim, tmp_path):
    f = write(tmp_path, GOOD + "capture l l.pcap\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 0
    assert (tmp_path / "o" / "l.pcap").stat().st_size > 24
    assert (tmp_path / "o" / "trace.log").exists()
    # Without -o: out/<scenario name>/ under the current directory.
    r = run(ipsecsim, "run", f.name, cwd=tmp_path)
    assert r.returncode == 0
    assert (tmp_path / "out" / "t" / "l.pcap").exists()


def test_full_socket_buffer_and_hex_payload(ipsecsim, tmp_path):
    # Nobody reads port 7: 41600 bytes of buffer take 41 datagrams of 1000
    # bytes; the other 9 are udp.fullsock.  Port 8 gets 3 hex bytes.
    f = write(tmp_path, """node a b
link l a=10.0.0.1/24 b=10.0.0.2/24 delay 1ms
listen b udp 7 noread
listen b udp 8
capture l l.pcap
at 1s udp a 10.0.0.2:7 size 1000 count 50 interval 1ms quiet
at 2s udp a:1234 10.0.0.2:8 hex c0ffee
expect b udp 7 packets == 41
expect b udp.fullsock == 9
expect b udp 8 bytes == 3
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 0, r.stdout
    from scapy.all import UDP, Raw, rdpcap
    last = [p for p in rdpcap(str(tmp_path / "o" / "l.pcap")) if UDP in p][-1]
    assert (last[UDP].sport, last[UDP].len, last[Raw].load) == (1234, 11, b"\xc0\xff\xee")


def test_sysctl_at_a_time(ipsecsim, tmp_path):
    # The router stops forwarding at 2.5 s: the third ping (at 3 s) dies there.
    f = write(tmp_path, """node a r b
link l1 a=10.0.1.2/24 r=10.0.1.1/24
link l2 r=10.0.2.1/24 b=10.0.2.2/24
sysctl r net.inet.ip.forwarding=1
route a default via 10.0.1.1
route b default via 10.0.2.1
at 1s ping a 10.0.2.2 count 3
at 2.5s sysctl r net.inet.ip.forwarding=0
expect a icmp.inhist.echoreply == 2
expect r ip.cantforward == 1
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "o", f)
    assert r.returncode == 0, r.stdout
    assert "2.500000000 r sysctl net.inet.ip.forwarding=0" in \
        (tmp_path / "o" / "trace.log").read_text()


def test_version(ipsecsim):
    """ipsecsim --version and ipsecsim version: git describe of the tree it
    was built from ("unknown" for a tree outside git)."""
    r = run(ipsecsim, "--version")
    assert r.returncode == 0 and r.stderr == ""
    assert re.fullmatch(r"ipsecsim \S+\n", r.stdout), r.stdout
    assert run(ipsecsim, "version").stdout == r.stdout
    g = subprocess.run(["git", "-C", str(ROOT), "describe", "--tags", "--always"],
                       capture_output=True, text=True)
    want = g.stdout.strip() if g.returncode == 0 else "unknown"
    assert r.stdout.split()[1].startswith(want), (r.stdout, want)
