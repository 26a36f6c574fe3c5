"""What a new user trips over (issue 20): big ipsec blocks load without
losing PF_KEY replies; drop lines name the ESP or AH packet; per-SA
expectations; make install; the man page's example."""
import re
import subprocess

from conftest import ROOT, run

K = "0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567"


def test_a_thousand_sa_pairs_load_quietly(ipsecsim, tmp_path):
    """1,000 SA pairs in one ipsec block: every SA is installed, and the
    loading socket reads each reply, so no 'receive buffer full' line,
    with a listener registered beside it."""
    lines = ["node a b", "link l a=10.0.0.1/24 b=10.0.0.2/24",
             "listen a pfkey km register esp", "ipsec a {"]
    for i in range(1000):
        lines.append(f"esp transport from 10.0.0.1 to 10.1.{i // 250}.{i % 250 + 1} "
                     f"spi 0x{0x1000 + 2 * i:x}:0x{0x1001 + 2 * i:x} enc aes-128-gcm enckey {K}")
    lines += ["}", "end 1s", "expect a ipsec sas == 2000"]
    (tmp_path / "t.scn").write_text("\n".join(lines) + "\n")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    trace = (tmp_path / "o" / "trace.log").read_text()
    assert "buffer full" not in trace
    assert trace.count("ipsec: 2000 rules loaded") == 1, trace[:500]


def test_drop_lines_name_the_spi_and_sequence_number(ipsecsim, tmp_path):
    """ESP and AH drops say which packet: the tampered ESP packet, the one
    whose SPI was changed (no SA), the tampered AH packet and the replayed
    one, each with its SPI and sequence number; a drop of something else
    says neither."""
    r = run(ipsecsim, "run", "-q", "-o", tmp_path / "t", ROOT / "scenarios/tamper-attack.scn")
    assert r.returncode == 0, r.stderr
    drops = [l.split(" ", 2)[2] for l in (tmp_path / "t" / "trace.log").read_text().splitlines()
             if " drop " in l]
    assert drops == ["drop esp.badauth len 124 on eth0 spi 0x00001000 seq 2",
                     "drop esp.notdb len 124 on eth0 spi 0x80001000 seq 4",
                     "drop ah.badauth len 92 on eth0 spi 0x00003000 seq 3"]
    r = run(ipsecsim, "run", "-q", "-o", tmp_path / "r", ROOT / "scenarios/replay-attack.scn")
    assert r.returncode == 0, r.stderr
    drops = [l.split(" ", 2)[2] for l in (tmp_path / "r" / "trace.log").read_text().splitlines()
             if " drop " in l]
    assert drops == ["drop esp.replay len 92 on eth0 spi 0x00001000 seq 2"]
    # a datagram that came through ESP and found no socket: the drop is
    # the inner packet's, and names no SPI
    (tmp_path / "u.scn").write_text(SA_SCN.split("at 1s ping")[0] +
                                    "at 1s udp a 192.0.2.2:9 data x\nend 2s\n")
    r = run(ipsecsim, "run", "-q", "-o", tmp_path / "u", tmp_path / "u.scn")
    drops = [l.split(" ", 2)[2] for l in (tmp_path / "u" / "trace.log").read_text().splitlines()
             if " drop " in l]
    assert drops == ["drop udp.noport len 29 on eth0"], drops


SA_SCN = """\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24 delay 1ms
K="0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567"
ipsec a {
\tflow esp from 192.0.2.1 to 192.0.2.2
\tesp transport from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 enc aes-128-gcm enckey $K replay 32 lifetime hard time 3
}
ipsec b {
\tflow esp from 192.0.2.2 to 192.0.2.1
\tesp transport from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 enc aes-128-gcm enckey $K replay 32
}
at 1s ping a 192.0.2.2 count 3 interval 100ms quiet
at 1500ms replay l from a esp spi 0x1000 2
end 5s
at 2s expect a sa 0x1000 opackets == {aout}
at 2s expect a sa 0x1000 state == mature
at 2s expect b sa 0x1000/192.0.2.2 ipackets == 3
at 2s expect b sa 0x1000 replay == 3
at 2s expect b sa 0x1000 idrops == 1
at 2s expect b sa 0x1000 ibytes == {ibytes}
at 2s expect a sa 0x1001 ipackets == 3
expect a sa 0x1000 state == gone
expect b sa 0x1000 state == mature
expect b sa 0x1000/192.0.2.9 state == gone
expect b sa 0x1000/192.0.2.9 ipackets == {absent}
"""


def test_per_sa_expectations(ipsecsim, tmp_path):
    """Each SA's counters, sequence counter and state, by SPI alone or
    with the destination; a hard lifetime takes a's SA away (gone); a
    wrong value fails with the SA's actual figure."""
    # ESP counts its payload as OpenBSD does, after the replay check and
    # before the ICV's: 64 bytes of ICMP, 2 of padding and the 2-byte
    # trailer for each of the three requests; the replayed copy is not
    # counted
    good = {"{ibytes}": str(3 * 68), "{aout}": "3", "{absent}": "0"}
    bad = {"{ibytes}": "1", "{aout}": "4", "{absent}": "1"}

    def scn(values):
        text = SA_SCN
        for k, v in values.items():
            text = text.replace(k, v)
        return text
    (tmp_path / "t.scn").write_text(scn(good))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # a's SA is gone by the end: a check at 2 s reports what it saw then
    (tmp_path / "t.scn").write_text(scn(bad))
    r = run(ipsecsim, "run", "-q", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[:3] == [
        "FAIL t.scn:15: at 2s expect a sa 0x1000 opackets == 4: got 3",
        "FAIL t.scn:20: at 2s expect b sa 0x1000 ibytes == 1: got 204",
        "FAIL t.scn:25: expect b sa 0x1000/192.0.2.9 ipackets == 1: got no such SA"]


def test_install_and_uninstall(tmp_path):
    """make install with DESTDIR and PREFIX: the binary (which runs), both
    man pages (mandoc finds nothing to say of them), the README and the
    docs beside it; make uninstall takes all of it away."""
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/opt/ipsecsim"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    top = dest / "opt/ipsecsim"
    for f in ("bin/ipsecsim", "share/man/man1/ipsecsim.1",
              "share/man/man5/ipsecsim-scenario.5", "share/doc/ipsecsim/README.md",
              "share/doc/ipsecsim/docs/scenario-language.md"):
        assert (top / f).is_file(), f
    v = subprocess.run([top / "bin/ipsecsim", "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("ipsecsim ")
    for page in ("share/man/man1/ipsecsim.1", "share/man/man5/ipsecsim-scenario.5"):
        m = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", top / page],
                           capture_output=True, text=True)
        assert m.returncode == 0, m.stdout + m.stderr
    r = subprocess.run(["make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/opt/ipsecsim"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [p for p in top.rglob("*") if p.is_file()] == []


def test_man_page_example_runs(ipsecsim, tmp_path):
    """The example of ipsecsim-scenario(5) is a scenario that runs and
    holds."""
    text = (ROOT / "man/ipsecsim-scenario.5").read_text()
    example = re.search(r"^\.Bd -literal -offset indent\n(.*?)^\.Ed", text, re.S | re.M)
    (tmp_path / "ex.scn").write_text(example.group(1))
    r = run(ipsecsim, "run", "-q", "-o", "o", "ex.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "ex: 2 expectations, 2 held, 0 failed\n"


def test_forged_packets_inside_the_window_consume_the_lifetime(ipsecsim, tmp_path):
    """As OpenBSD's esp_input: the receiver counts a packet's bytes after
    the replay pre-check and before the ICV's, so a forged one inside the
    window is counted (and then dropped as esp.badauth); a replayed one is
    not counted at all."""
    scn = SA_SCN.replace("at 1500ms replay l from a esp spi 0x1000 2",
                         "tamper l from a esp 2 offset 40")
    scn = scn.split("at 2s expect")[0]  # the file up to its end statement
    scn += ("expect b esp.badauth == 1\n"
            "expect b sa 0x1000 ipackets == 2\n"
            "expect b sa 0x1000 ibytes == 204\n"
            "expect b esp.ibytes == 204\n")
    (tmp_path / "t.scn").write_text(scn)
    r = run(ipsecsim, "run", "-q", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr



def test_a_flow_without_an_sa_is_named(ipsecsim, tmp_path):
    """A require flow with no SA: a warning when the file loads, the run
    goes ahead, the ping fails with EACCES, and the trace names the flow
    before the drop."""
    (tmp_path / "t.scn").write_text(
        "node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\n"
        "ipsec a {\n\tflow esp from 10.0.0.1 to 10.0.0.2\n}\n"
        "at 1s ping a 10.0.0.2 count 1\nend 2s\n")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ("t.scn: warning: a has no SA to 10.0.0.2 for flow esp out from "
                        "10.0.0.1 to 10.0.0.2 peer 10.0.0.2 type require: its packets will be "
                        "dropped (ipsec.nosa) unless an SA is added\n")
    assert "1.000000000 a: ping: sendto 10.0.0.2: Permission denied" in r.stdout
    trace = (tmp_path / "o" / "trace.log").read_text().splitlines()
    i = trace.index("1.000000000 a ipsec: no esp SA to 10.0.0.2 for flow esp out from "
                    "10.0.0.1 to 10.0.0.2 peer 10.0.0.2 type require")
    assert trace[i + 1] == "1.000000000 a drop ipsec.nosa len 84"
