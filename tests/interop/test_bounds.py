"""Tables that input can grow have a cap, a counter and a way on past it:
a switch's address table fed 100,005 source MACs learns 100,000, counts
the others as link.fdbfull, and still carries traffic (flooded)."""
import struct

from conftest import run


def frames_pcap(path, n):
    """n broadcast frames, each from its own source MAC (02:00:...)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            frame = b"\xff" * 6 + b"\x02\x00" + struct.pack(">I", i) + b"\x88\xb5" + bytes(46)
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


def test_switch_address_table_is_bounded(ipsecsim, tmp_path):
    frames_pcap(tmp_path / "macs.pcap", 100005)
    (tmp_path / "t.scn").write_text("""\
node a b
switch lan a=192.0.2.1/24 b=192.0.2.2/24
at 1s inject lan macs.pcap from a
at 2s ping a 192.0.2.2 count 2 quiet
end 5s
expect lan link.injected == 100005
expect a icmp.inhist.echoreply == 2
# 5 injected sources, and each frame of the ping (ARP request and reply, two
# echo requests and replies: 6) came from a MAC the full table did not take
expect lan link.fdbfull == 11
""")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_switch_learns_below_the_cap(ipsecsim, tmp_path):
    """The other side: with room in the table nothing is counted, and a
    learned destination gets its frames alone (b's port, not m's)."""
    frames_pcap(tmp_path / "macs.pcap", 1000)
    (tmp_path / "t.scn").write_text("""\
node a b m
switch lan a=192.0.2.1/24 b=192.0.2.2/24 m=192.0.2.3/24
at 1s inject lan macs.pcap from a
at 2s ping a 192.0.2.2 count 2 quiet
end 5s
expect lan link.fdbfull == 0
expect a icmp.inhist.echoreply == 2
# m sees the broadcasts (1000 injected, one ARP request), not the unicasts
expect m ether.ipackets == 1001
""")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rusage_reports_on_stderr_only(ipsecsim, tmp_path):
    """--rusage adds one key=value line on stderr (this machine's figures)
    and changes nothing the run writes: stdout and trace stay the same."""
    (tmp_path / "t.scn").write_text("""\
node a b c
link l a=192.0.2.1/24 b=192.0.2.2/24
switch s b=198.51.100.2/24 c=198.51.100.3/24
at 1s ping a 192.0.2.2 count 2
end 3s
""")
    plain = run(ipsecsim, "run", "-o", "p", "t.scn", cwd=tmp_path)
    ru = run(ipsecsim, "run", "--rusage", "-o", "r", "t.scn", cwd=tmp_path)
    assert plain.returncode == ru.returncode == 0
    assert plain.stdout.replace("p/", "r/") == ru.stdout
    assert (tmp_path / "p" / "trace.log").read_bytes() == (tmp_path / "r" / "trace.log").read_bytes()
    assert plain.stderr == ""
    lines = ru.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rusage: ")
    kv = dict(w.split("=") for w in lines[0].split()[1:])
    assert list(kv) == ["nodes", "links", "setup_ms", "run_ms", "teardown_ms", "events",
                        "events_per_s", "cpu_ms", "maxrss_kib"]
    assert (kv["nodes"], kv["links"]) == ("3", "2")
    assert int(kv["events"]) > 0 and int(kv["maxrss_kib"]) > 0
