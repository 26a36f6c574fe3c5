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


def arp_requests_pcap(path, n, target):
    """n ARP requests for target (dotted IPv4), each from its own source
    address and MAC."""
    tpa = bytes(int(x) for x in target.split("."))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            sha = b"\x02\x01" + struct.pack(">I", i)
            spa = bytes([10, 9]) + struct.pack(">H", i % 65536) if i < 65536 else \
                bytes([10, 8]) + struct.pack(">H", i - 65536)
            arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + sha + spa + bytes(6) + tpa
            frame = b"\xff" * 6 + sha + b"\x08\x06" + arp + bytes(18)
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


ARP_SCN = """\
node a b
link l a=10.0.0.1/24 b=10.0.0.2/24
at 1s inject l req.pcap from a
at 2s ping b 10.0.0.1 count 1 quiet
end 5s
expect l link.injected == {n}
expect b arp.txreplies == {replies}
expect b arp.tablefull == {full}
expect b arp.dropped == {dropped}
expect b icmp.inhist.echoreply == {replied}
"""


def test_arp_cache_is_bounded(ipsecsim, tmp_path):
    """65,541 requests from distinct sources: b answers every one, learns
    65,536 and counts 5 as arp.tablefull; then a packet to a neighbor it
    does not know yet finds the cache full: dropped, counted once more."""
    n = 65536 + 5
    arp_requests_pcap(tmp_path / "req.pcap", n, "10.0.0.2")
    (tmp_path / "t.scn").write_text(ARP_SCN.format(n=n, replies=n, full=6, dropped=1,
                                                   replied=0))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_arp_cache_learns_below_the_bound(ipsecsim, tmp_path):
    n = 1000
    arp_requests_pcap(tmp_path / "req.pcap", n, "10.0.0.2")
    # b's ping is answered: its request and a's ARP reply, a's echo reply
    (tmp_path / "t.scn").write_text(ARP_SCN.format(n=n, replies=n, full=0, dropped=0,
                                                   replied=1))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def cksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ns_pcap(path, n, target):
    """n neighbor solicitations for target (bytes), each from its own
    address (2001:db8:9::/64) and MAC, with the source link-layer option;
    broadcast frames to target's address."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            mac = b"\x02\x02" + struct.pack(">I", i)
            src = bytes.fromhex("20010db80009000000000000") + struct.pack(">I", i)
            body = struct.pack(">BBHI", 135, 0, 0, 0) + target + b"\x01\x01" + mac
            pseudo = src + target + struct.pack(">I3xB", len(body), 58)  # length, 3 zero bytes, next header
            body = body[:2] + struct.pack(">H", cksum(pseudo + body)) + body[4:]
            ip6 = struct.pack(">IHBB", 6 << 28, len(body), 58, 255) + src + target + body
            frame = b"\xff" * 6 + mac + b"\x86\xdd" + ip6
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


ND_SCN = """\
node a b
link l a=2001:db8::1/64 b=2001:db8::2/64
at 1s inject l ns.pcap from a
at 2s ping b 2001:db8::1 count 1 quiet
end 5s
expect l link.injected == {n}
expect b icmp6.inhist.ns == {n}
expect b nd6.tablefull == {full}
expect b icmp6.inhist.echoreply == {replied}
"""


def test_neighbor_cache_is_bounded(ipsecsim, tmp_path):
    """65,541 solicitations from distinct sources: b learns 65,536; the 5
    it cannot learn, the 5 advertisements back to them that find no room
    to resolve, and b's ping to a new neighbor count as nd6.tablefull."""
    n = 65536 + 5
    ns_pcap(tmp_path / "ns.pcap", n, bytes.fromhex("20010db8000000000000000000000002"))
    (tmp_path / "t.scn").write_text(ND_SCN.format(n=n, full=11, replied=0))
    r = run(ipsecsim, "run", "--stats", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_neighbor_cache_learns_below_the_bound(ipsecsim, tmp_path):
    n = 1000
    ns_pcap(tmp_path / "ns.pcap", n, bytes.fromhex("20010db8000000000000000000000002"))
    (tmp_path / "t.scn").write_text(ND_SCN.format(n=n, full=0, replied=1))
    r = run(ipsecsim, "run", "--stats", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def ptb_pcap(path, n, mtu):
    """n ICMPv6 packet too big messages from 2001:db8::1 to b
    (2001:db8::2), each quoting an echo request from b to its own
    destination (2001:db8:77::i)."""
    b = bytes.fromhex("20010db8000000000000000000000002")
    a = bytes.fromhex("20010db8000000000000000000000001")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            dst = bytes.fromhex("20010db8007700000000") + struct.pack(">IH", 0, i + 1)
            echo = struct.pack(">BBHHH", 128, 0, 0, 1, i) + bytes(1400)
            quoted = struct.pack(">IHBB", 6 << 28, len(echo), 58, 64) + b + dst + echo
            body = struct.pack(">BBHI", 2, 0, 0, mtu) + quoted[:1232]
            pseudo = a + b + struct.pack(">I3xB", len(body), 58)
            body = body[:2] + struct.pack(">H", cksum(pseudo + body)) + body[4:]
            ip6 = struct.pack(">IHBB", 6 << 28, len(body), 58, 64) + a + b + body
            frame = b"\xff" * 6 + b"\x02\x03\x00\x00\x00\x01" + b"\x86\xdd" + ip6
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


PMTU_SCN = """\
node a b
link l a=2001:db8::1/64 b=2001:db8::2/64
at 1s inject l ptb.pcap from a
at 2s show b memory
end 3s
expect b icmp6.inhist.toobig == {n}
expect b ip6.pmtufull == {full}
"""


def pmtu_entries(out):
    for line in out.splitlines():
        if line.split() and line.split()[0] == "pmtu":
            return int(line.split()[1])
    raise AssertionError("no pmtu line in:\n" + out)


def test_path_mtu_cache_is_bounded(ipsecsim, tmp_path):
    """4,101 packet too big messages for distinct destinations: b keeps
    4,096 path MTUs and counts 5 it did not learn as ip6.pmtufull."""
    n = 4096 + 5
    ptb_pcap(tmp_path / "ptb.pcap", n, 1300)
    (tmp_path / "t.scn").write_text(PMTU_SCN.format(n=n, full=5))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert pmtu_entries(r.stdout) == 4096


def test_path_mtu_cache_learns_below_the_bound(ipsecsim, tmp_path):
    n = 300
    ptb_pcap(tmp_path / "ptb.pcap", n, 1300)
    (tmp_path / "t.scn").write_text(PMTU_SCN.format(n=n, full=0))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert pmtu_entries(r.stdout) == 300


def ra_pcap(path, n):
    """n router advertisements (lifetime 1800 s), each from its own
    link-local address and MAC, to all nodes."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        allnodes = bytes.fromhex("ff020000000000000000000000000001")
        for i in range(n):
            mac = b"\x02\x04" + struct.pack(">I", i)
            src = bytes.fromhex("fe800000000000000000000000") + struct.pack(">I", i)[1:]
            body = struct.pack(">BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + b"\x01\x01" + mac
            pseudo = src + allnodes + struct.pack(">I3xB", len(body), 58)
            body = body[:2] + struct.pack(">H", cksum(pseudo + body)) + body[4:]
            ip6 = struct.pack(">IHBB", 6 << 28, len(body), 58, 255) + src + allnodes + body
            frame = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + ip6
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)


RA_SCN = """\
node a b
link l a=2001:db8::1/64 b=2001:db8::2/64
at 1s inject l ra.pcap from a
end 3s
expect b icmp6.inhist.routeradvert == {n}
expect b nd6.routersfull == {full}
"""


def test_default_router_list_is_bounded(ipsecsim, tmp_path):
    """70 routers advertise themselves: b keeps 64 and counts 6 it did
    not take as nd6.routersfull."""
    ra_pcap(tmp_path / "ra.pcap", 70)
    (tmp_path / "t.scn").write_text(RA_SCN.format(n=70, full=6))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_default_router_list_below_the_bound(ipsecsim, tmp_path):
    ra_pcap(tmp_path / "ra.pcap", 64)
    (tmp_path / "t.scn").write_text(RA_SCN.format(n=64, full=0))
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_switch_of_thousands_of_endpoints(ipsecsim, tmp_path):
    """A statement continued over 3,001 lines: 3,000 hosts on one switch,
    the first pings the last (its ARP request reaches every port)."""
    n = 3000
    hosts = [f"h{i}" for i in range(n)]
    ends = [f"h{i}=10.{i // 250}.{i % 250}.1/8" for i in range(n)]
    (tmp_path / "t.scn").write_text(
        "node " + " \\\n".join(hosts) + "\n" +
        "switch lan \\\n" + " \\\n".join(ends) + "\n" +
        "at 1s ping h0 10.11.249.1 count 1 quiet\nend 3s\n"
        f"expect h{n - 1} arp.rxrequests == 1\n"
        f"expect h1 arp.rxrequests == 1\n"
        "expect h0 icmp.inhist.echoreply == 1\n")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 expectations, 3 held" in r.stdout
