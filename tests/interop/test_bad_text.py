"""Every text reader ends on any input and says where it stopped: a NUL
byte, a line longer than the reader takes (never split into two lines), a
file past 64 MiB, /dev/zero; and numbers past 2^64 units are refused, not
wrapped (issue 18, items 1 to 4)."""
import pytest
from scapy.all import ESP, IP, wrpcap

from conftest import run


def write(path, data):
    path.write_bytes(data)
    return path


def test_scenario_reader(ipsecsim, tmp_path):
    cases = [
        (b"node a b\n\0expect a ip.total == 5\nend 1s\n", "2: NUL byte"),
        (b"node a b\nexpect a ip.total\0 == 5\n", "2: NUL byte"),
        (b"node a\n" + b"#" * 5000 + b"\n", "2: line longer than 4095 bytes"),
        (b"node a\nipsec a {\n\0\n}\n", "3: NUL byte"),
    ]
    for data, msg in cases:
        scn = write(tmp_path / "t.scn", data)
        r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
        assert r.returncode == 2, data
        assert r.stderr.strip() == f"{scn}:{msg}", data
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "/dev/zero")
    assert (r.returncode, r.stderr.strip()) == (2, "/dev/zero:1: NUL byte")
    scn = write(tmp_path / "i.scn", b"node a\ninclude /dev/zero\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert (r.returncode, r.stderr.strip()) == (2, "/dev/zero:1: NUL byte")


def test_scenario_statement_too_long(ipsecsim, tmp_path):
    """Continued lines join up to 1 MiB - 1 bytes, and no further: the
    error is at the statement's first line, and nothing after is read."""
    word = b"w" * 4000 + b" \\\n"
    n = (1 << 20) // (len(word) - 1) + 1
    scn = write(tmp_path / "t.scn", b"node a\nnode \\\n" + word * n + b"b\nnode c\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert (r.returncode, r.stderr.strip()) == (
        2, f"{scn}:2: statement longer than 1048575 bytes once its lines are joined")


def test_scenario_too_big(ipsecsim, tmp_path):
    line = b"#" + b"x" * 4000 + b"\n"
    n = (64 << 20) // len(line) + 2
    scn = write(tmp_path / "h.scn", b"node a\n" + line * n)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    # the byte past the cap is in comment line k, line k + 1 of the file
    k = -(-((64 << 20) + 1 - len(b"node a\n")) // len(line))
    assert r.stderr.strip() == f"{scn}:{k + 1}: file larger than 64 MiB"
    # a file of exactly 64 MiB is read whole
    head = b"node a\n" + line * (((64 << 20) - 7) // len(line))
    rest = (64 << 20) - len(head)
    scn.write_bytes(head + b"#" * (rest - 1) + b"\n")
    assert scn.stat().st_size == 64 << 20 and rest <= 4096
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert (r.returncode, r.stderr) == (0, "")


def test_ipsec_conf_reader(ipsecsim, tmp_path):
    ok = b"flow esp from 10.0.0.1 to 10.0.0.2\n"
    cases = [
        (ok + b"\0flow\n", "2: NUL byte"),
        (b"flow esp bogus " + b"\0" * 100000, "1: syntax error\n{f}: 1: NUL byte"),
        (b"flow esp from 10.0.0.1 to 10.0.0.2 #" + b"a" * 20000 + b"\n",
         "1: line longer than 16384 bytes"),
    ]
    for data, msg in cases:
        conf = write(tmp_path / "t.conf", data)
        r = run(ipsecsim, "ipsecctl", "-n", "-f", conf)
        assert r.returncode == 2, data[:40]
        want = f"{conf}: " + msg.replace("{f}", str(conf))
        assert r.stderr.splitlines()[:-1] == want.splitlines(), data[:40]
    r = run(ipsecsim, "ipsecctl", "-n", "-f", "/dev/zero")
    assert r.returncode == 2 and r.stderr.splitlines()[0] == "/dev/zero: 1: NUL byte"
    conf = write(tmp_path / "i.conf", b'include "/dev/zero"\n')
    r = run(ipsecsim, "ipsecctl", "-n", "-f", conf)
    assert r.returncode == 2 and r.stderr.splitlines()[0] == "/dev/zero: 1: NUL byte"
    # the same file without the NUL loads
    conf = write(tmp_path / "t.conf", ok)
    r = run(ipsecsim, "ipsecctl", "-n", "-f", conf)
    assert r.returncode == 0, r.stderr


SA = ('"ESP","IPv4","10.0.0.1","10.0.0.2","0x00001000","AES-GCM with 16 octet ICV [RFC4106]",'
      '"0x000102030405060708090a0b0c0d0e0f10111213","NULL",""\n')


def test_esp_sa_reader(ipsecsim, tmp_path):
    cap = tmp_path / "c.pcap"
    wrpcap(str(cap), [IP(src="10.0.0.1", dst="10.0.0.2") / ESP(spi=0x1000, seq=1) / (b"x" * 40)])
    # a line longer than the reader takes is one error at its line, not
    # two SAs
    sa = write(tmp_path / "esp_sa", SA.encode() + b'"ESP","IPv4"' + b" " * 3000 + SA.encode())
    r = run(ipsecsim, "verify", "--sa", sa, cap)
    assert r.returncode == 2
    assert f"{sa}:2: line longer than 2047 bytes" in r.stderr.splitlines()
    sa = write(tmp_path / "esp_sa", SA.encode() + b"\0" + SA.encode())
    r = run(ipsecsim, "verify", "--sa", sa, cap)
    assert r.returncode == 2 and f"{sa}:2: NUL byte" in r.stderr.splitlines()
    r = run(ipsecsim, "verify", "--sa", "/dev/zero", cap)
    assert r.returncode == 2 and "/dev/zero:1: NUL byte" in r.stderr.splitlines()


def test_vector_reader(ipsecsim, tmp_path):
    vec = write(tmp_path / "v.vec", b"name: x\n\0\n")
    r = run(ipsecsim, "vectors", vec)
    assert r.returncode == 2 and r.stderr.strip() == f"{vec}:2: NUL byte"


@pytest.mark.parametrize("stmt", ["link l a=10.0.0.1/24 b=10.0.0.2/24 delay {}",
                                  "end {}"])
def test_times_past_2_64_ns(ipsecsim, tmp_path, stmt):
    """The largest time is taken; one nanosecond more is refused (it used
    to wrap to 0 or 1 ns)."""
    scn = tmp_path / "t.scn"
    scn.write_text("node a b\n" + stmt.format("18446744073.709551616s") + "\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2 and f"{scn}:2: " in r.stderr, r.stderr
    scn.write_text("node a b\n" + stmt.format("18446744073.709551615s") + "\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert f"{scn}:2:" not in r.stderr, r.stderr


BURST = """\
node a b
link l a=10.0.0.1/24 b=10.0.0.2/24
listen b udp 9
at 1s udp a 10.0.0.2:9 count {} interval 0 quiet
end 2s
expect b udp 9 packets == {}
"""


def test_what_one_statement_may_schedule(ipsecsim, tmp_path):
    """A count at interval 0 is bounded (virtual time would never move, so
    `end` could not stop it); the largest one is taken."""
    scn = tmp_path / "b.scn"
    scn.write_text(BURST.format(1000001, 0))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert (r.returncode, r.stderr.strip()) == (
        2, f"{scn}:4: count 1000001 with interval 0 sends them all at one instant: at most "
        "1000000 that way (give an interval)")
    scn.write_text(BURST.format(1000, 1000))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr


def test_max_events(ipsecsim, tmp_path):
    """--max-events stops a run that has done that many events, exit 2 and
    no verdicts; 0 lifts the limit; the run under the limit is untouched."""
    scn = tmp_path / "b.scn"
    scn.write_text(BURST.format(1000, 1000))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "--max-events", "500", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"{scn}: stopped after 500 events at 1.000000000 s of virtual time, the limit "
        "(--max-events): a statement that schedules without end (a count with interval "
        "0?), or a run that needs a higher limit")
    assert "expect" not in r.stdout
    for limit in ("0", "100000"):
        r = run(ipsecsim, "run", "-o", tmp_path / "out", "--max-events", limit, scn)
        assert r.returncode == 0, r.stdout + r.stderr
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "--max-events", "many", scn)
    assert (r.returncode, r.stderr.strip()) == (
        2, "ipsecsim run: --max-events wants a number (0 for no limit), not 'many'")
