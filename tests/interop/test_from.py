"""`from ADDR` on ping, udp and tcp: the packets leave from that address of
the node (an alias, or another interface's), answers come back to it; an
address the node does not have, or of the other family, is refused with
file:line."""
from scapy.all import IP, TCP, UDP, ICMP, IPv6, rdpcap

from conftest import run

SCN = """\
node a b
link l a=192.0.2.1/24,192.0.2.11/24,2001:db8::1/64,2001:db8::11/64 b=192.0.2.2/24,2001:db8::2/64
capture l l.pcap
listen b udp 9
listen b tcp 7 echo
at 1s ping a 192.0.2.2 count 2 from 192.0.2.11
at 1s ping a 2001:db8::2 count 2 from 2001:db8::11
at 1s udp a 192.0.2.2:9 size 10 count 3 interval 100ms from 192.0.2.11
at 1s tcp a 192.0.2.2:7 send 3000 from 192.0.2.11 as t
at 2s ping a 192.0.2.2 count 1
end 4s
expect a icmp.inhist.echoreply == 3
expect a icmp6.inhist.echoreply == 2
expect b udp 9 packets == 3
expect t received == 3000
"""


def test_from_an_alias(ipsecsim, tmp_path):
    scn = tmp_path / "t.scn"
    scn.write_text(SCN)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    pkts = [p for p in rdpcap(str(tmp_path / "out" / "l.pcap")) if IP in p or IPv6 in p]
    sent4 = [p[IP] for p in pkts if IP in p and p[IP].dst == "192.0.2.2"]
    # every TCP, UDP and ICMP packet of the first second from the alias; the
    # last ping (no from) from the interface's first address
    assert {p.src for p in sent4 if TCP in p or UDP in p} == {"192.0.2.11"}
    echo = [p.src for p in sent4 if ICMP in p and p[ICMP].type == 8]
    assert sorted(echo) == ["192.0.2.1", "192.0.2.11", "192.0.2.11"]
    sent6 = [p[IPv6].src for p in pkts if IPv6 in p and p[IPv6].dst == "2001:db8::2"
             and p[IPv6].nh == 58 and bytes(p[IPv6].payload)[0] == 128]
    assert sent6 == ["2001:db8::11", "2001:db8::11"]


def test_from_refused(ipsecsim, tmp_path):
    scn = tmp_path / "bad.scn"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "at 1s ping a 192.0.2.2 from 192.0.2.9\n"
                   "at 1s udp a 192.0.2.2:9 from 2001:db8::1\n"
                   "at 1s tcp a 192.0.2.2:7 send 10 from nonsense\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert f"{scn}:3: a has no address 192.0.2.9 (from names one of the node's own)" in r.stderr


NAMED = """\
node a b r
link l a=192.0.2.1/24 b=192.0.2.2/24
link m b=198.51.100.1/24 r=198.51.100.2/24
route a default via 192.0.2.2
sysctl b net.inet.ip.forwarding=1
listen b udp 7 echo
listen b udp 9
at 1s ping a 192.0.2.2 count 3 interval 100ms as near quiet
at 1s ping a 203.0.113.9 count 2 interval 100ms as nowhere quiet
at 1s udp a 192.0.2.2:7 size 20 count 4 interval 10ms as echoed quiet
at 1s udp a 192.0.2.2:9 size 20 count 2 interval 10ms as swallowed quiet
end 3s
expect near sent == 3
expect near received == 3
expect nowhere sent == 2
expect nowhere received == 0
expect nowhere errors == 2
expect echoed received == 4
expect swallowed sent == 2
expect swallowed received == 0
"""


def test_named_senders(ipsecsim, tmp_path):
    """Pings and UDP senders named with `as` have their own counts: replies,
    ICMP errors (b has no route to 203.0.113.9: net unreachable), echoes."""
    scn = tmp_path / "n.scn"
    scn.write_text(NAMED)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    # and the figures are checked: a wrong one fails
    scn.write_text(NAMED.replace("expect near received == 3", "expect near received == 2"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 1 and "expect near received == 2: got 3" in r.stdout


def test_named_senders_refused(ipsecsim, tmp_path):
    scn = tmp_path / "bad.scn"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "at 1s ping a 192.0.2.2 as a\n"
                   "at 1s ping a 192.0.2.2 as p\n"
                   "at 1s udp a 192.0.2.2:9 as p\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == f"{scn}:3: the name 'a' is taken"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "at 1s udp a 192.0.2.2:9 as u\nexpect u errors == 0\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{scn}:4: usage: expect NAME sent|received OP VALUE"
