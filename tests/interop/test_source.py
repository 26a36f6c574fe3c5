"""Source address selection with several addresses on an interface (the
regress matrix's aliases): IPv4 takes the address whose network holds the
next hop, as a BSD route's ifa; IPv6 the global address sharing the longest
prefix with the destination (RFC 6724 rule 8), a link-local one for a
link-local destination; a UDP echo answers from the address it was sent to.
Interfaces carry up to 255 addresses, and one more is refused."""
import ipaddress

from scapy.all import IP, ICMP, UDP, IPv6, ICMPv6EchoRequest, ICMPv6EchoReply, rdpcap

from conftest import run

SCN = """\
node a b r
link l a=192.0.2.1/24,198.51.100.1/24,2001:db8:1::1/64,2001:db8:2::1/64 \\
	b=192.0.2.2/24,198.51.100.2/24,2001:db8:1::2/64,2001:db8:2::2/64,192.0.2.22/24
link m b=203.0.113.1/24 r=203.0.113.2/24
route a 203.0.113.0/24 via 198.51.100.2
route r default via 203.0.113.1
sysctl b net.inet.ip.forwarding=1
listen b udp 7 echo
listen r udp 9
capture l l.pcap
at 1s ping a 203.0.113.2 as routed quiet
at 2s ping a 198.51.100.2 as second quiet
at 3s ping a 192.0.2.2 as first quiet
at 4s ping a 2001:db8:2::2 as v6second quiet
at 5s ping a 2001:db8:1::2 as v6first quiet
at 6s udp a 192.0.2.22:7 size 10 as alias quiet
at 7s udp a 203.0.113.2:9 size 10 as routed_udp quiet
end 8s
expect routed received == 1
expect second received == 1
expect first received == 1
expect v6second received == 1
expect v6first received == 1
expect alias received == 1
expect r udp 9 packets == 1
"""


def test_source_selection(ipsecsim, tmp_path):
    scn = tmp_path / "s.scn"
    scn.write_text(SCN)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    pkts = rdpcap(str(tmp_path / "out" / "l.pcap"))
    req4 = [(p[IP].src, p[IP].dst) for p in pkts if IP in p and ICMP in p and p[ICMP].type == 8]
    assert req4 == [("198.51.100.1", "203.0.113.2"),  # next hop 198.51.100.2
                    ("198.51.100.1", "198.51.100.2"),
                    ("192.0.2.1", "192.0.2.2")]
    req6 = [(p[IPv6].src, p[IPv6].dst) for p in pkts if ICMPv6EchoRequest in p]
    assert req6 == [("2001:db8:2::1", "2001:db8:2::2"), ("2001:db8:1::1", "2001:db8:1::2")]
    rep6 = [(p[IPv6].src, p[IPv6].dst) for p in pkts if ICMPv6EchoReply in p]
    assert rep6 == [("2001:db8:2::2", "2001:db8:2::1"), ("2001:db8:1::2", "2001:db8:1::1")]
    # the echo comes back from the alias it went to, not b's first address
    udp = [(p[IP].src, p[IP].dst, p[UDP].sport) for p in pkts if UDP in p]
    assert len(udp) == 3
    assert udp[0][1] == "192.0.2.22" and udp[1][0] == "192.0.2.22" and udp[1][2] == 7
    # a datagram's source (a socket's, not ping's path) by the next hop too
    assert udp[2][:2] == ("198.51.100.1", "203.0.113.2")


def aliases(n):
    return ",".join(f"{ipaddress.ip_address('10.0.0.1') + k}/16" for k in range(n))


def test_many_aliases(ipsecsim, tmp_path):
    """255 addresses (a line far longer than any buffer) are all there; the
    last answers a ping."""
    scn = tmp_path / "a.scn"
    last = ipaddress.ip_address("10.0.0.1") + 254
    scn.write_text(f"node a b\nlink l a={aliases(255)} b=10.0.200.1/16\n"
                   f"at 1s ping b {last} as p quiet\nexpect p received == 1\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    scn.write_text(f"node a b\nlink l a={aliases(256)} b=10.0.200.1/16\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"{scn}:2: at most 255 addresses on an interface "
                                "(with its IPv6 link-local address, 256)")


def eui64_link_local(mac):
    """RFC 4291 appendix A: fe80:: and the MAC's modified EUI-64."""
    b = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))


def test_link_local_destination(ipsecsim, tmp_path):
    """A ping to a neighbour's link-local address leaves from our
    link-local address, not from a global one of the interface."""
    base = ("node a b\nlink l a=2001:db8:1::1/64 b=2001:db8:1::2/64\ncapture l l.pcap\n"
            "at 1s ping a 2001:db8:1::2 as g quiet\n")
    scn = tmp_path / "l.scn"
    scn.write_text(base + "end 2s\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "one", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    macs = {p[IPv6].src: p.src for p in rdpcap(str(tmp_path / "one" / "l.pcap")) if IPv6 in p}
    a_ll, b_ll = (eui64_link_local(macs[x]) for x in ("2001:db8:1::1", "2001:db8:1::2"))
    scn.write_text(base + f"at 2s ping a {b_ll}%eth0 as ll quiet\nend 3s\n"
                   "expect ll received == 1\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "two", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    req = [(p[IPv6].src, p[IPv6].dst) for p in rdpcap(str(tmp_path / "two" / "l.pcap"))
           if ICMPv6EchoRequest in p]
    assert req == [("2001:db8:1::1", "2001:db8:1::2"), (a_ll, b_ll)]
