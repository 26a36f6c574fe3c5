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
    (tmp_path / "u.scn").write_text("node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\n"
                                    "at 1s udp a 10.0.0.2:9 data x\nend 2s\n")
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
at 2s expect a sa 0x1000 opackets == 3
at 2s expect a sa 0x1000 state == mature
at 2s expect b sa 0x1000/192.0.2.2 ipackets == 3
at 2s expect b sa 0x1000 replay == 3
at 2s expect b sa 0x1000 idrops == 1
at 2s expect b sa 0x1000 ibytes == {ibytes}
at 2s expect a sa 0x1001 ipackets == 3
expect a sa 0x1000 state == gone
expect b sa 0x1000 state == mature
expect b sa 0x1000/192.0.2.9 state == gone
"""


def test_per_sa_expectations(ipsecsim, tmp_path):
    """Each SA's counters, sequence counter and state, by SPI alone or
    with the destination; a hard lifetime takes a's SA away (gone); a
    wrong value fails with the SA's actual figure."""
    # ESP counts its payload as OpenBSD does, after the replay check and
    # before the ICV's: 64 bytes of ICMP, 2 of padding and the 2-byte
    # trailer for each of the three requests; the replayed copy is not
    # counted
    (tmp_path / "t.scn").write_text(SA_SCN.replace("{ibytes}", str(3 * 68)))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (tmp_path / "t.scn").write_text(SA_SCN.replace("{ibytes}", "1"))
    r = run(ipsecsim, "run", "-q", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == \
        "FAIL t.scn:20: at 2s expect b sa 0x1000 ibytes == 1: got 204"


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
