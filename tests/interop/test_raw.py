"""Raw IP sockets (`listen NODE raw PROTO [reflect]`, the `raw` action):
protocol 59 sent and reflected over IPv4 and IPv6, in the clear and
through ESP transport mode (OpenBSD's nonxt test); without a socket the
stack's answers (protocol unreachable, parameter problem, nothing for 59,
esp.dummy after ESP); the input policy applies to raw sockets too; and
`expect ... since T0`."""
import pytest
from scapy.all import IP, ICMP, IPv6, ICMPv6ParamProblem, rdpcap

from conftest import run

K = "0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567"

SCN = f"""\
node a b m
switch l a=192.0.2.1/24,192.0.2.11/24,2001:db8::1/64,2001:db8::11/64 \\
	b=192.0.2.2/24,192.0.2.22/24,2001:db8::2/64,2001:db8::22/64 m=192.0.2.3/24,2001:db8::3/64
listen b raw 59 reflect
capture l l.pcap
K="{K}"
ipsec a {{
	flow esp from 192.0.2.11 to 192.0.2.22
	flow esp from 2001:db8::11 to 2001:db8::22
	esp transport from 192.0.2.11 to 192.0.2.22 spi 0x500:0x501 enc aes-128-gcm enckey $K
	esp transport from 2001:db8::11 to 2001:db8::22 spi 0x600:0x601 enc aes-128-gcm enckey $K
}}
ipsec b {{
	flow esp from 192.0.2.22 to 192.0.2.0/24 peer 192.0.2.11
	flow esp in from 2001:db8::/64 to 2001:db8::22 peer 2001:db8::11
	flow esp out from 2001:db8::22 to 2001:db8::11 peer 2001:db8::11
	esp transport from 192.0.2.11 to 192.0.2.22 spi 0x500:0x501 enc aes-128-gcm enckey $K
	esp transport from 2001:db8::11 to 2001:db8::22 spi 0x600:0x601 enc aes-128-gcm enckey $K
}}
at 1s raw a 192.0.2.2 59 as r4 quiet
at 2s raw a 2001:db8::2 59 size 8 as r6 quiet
at 3s raw a 192.0.2.22 59 from 192.0.2.11 as esp quiet
at 4s raw m 192.0.2.22 59 as rogue quiet
at 5s raw a 2001:db8::22 59 from 2001:db8::11 as esp6 quiet
at 5s raw m 2001:db8::22 59 as rogue6 quiet
end 7s
expect r4 received == 1
expect r6 received == 1
expect esp received == 1
expect rogue received == 0
expect esp6 received == 1
expect rogue6 received == 0
expect b raw 59 packets == 4
expect b raw 59 bytes == 8
expect b ipsec.inpolicy == 2
expect b rip.ipackets == 2
expect b rip6.ipackets == 2
expect b rip.opackets == 2
expect b rip6.opackets == 2
at 3500ms expect b esp.input == 1 since 2500ms
at 3500ms expect b esp.output == 1 since 2500ms
at 3500ms expect b esp.input == 1 since 0s
"""


def test_reflect(ipsecsim, tmp_path):
    scn = tmp_path / "r.scn"
    scn.write_text(SCN)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    pkts = rdpcap(str(tmp_path / "out" / "l.pcap"))
    v4 = [(p[IP].src, p[IP].dst, p[IP].proto, p[IP].len - 20) for p in pkts
          if IP in p and p[IP].proto in (59, 50)]
    # in the clear, answered with nothing from the address asked; then
    # from a's alias to b's, through ESP both ways (the ESP layer hides
    # 59); mallory's in the clear to the address b wants ESP for: refused
    assert v4[:2] == [("192.0.2.1", "192.0.2.2", 59, 0), ("192.0.2.2", "192.0.2.1", 59, 0)]
    assert [(s, d, pr) for s, d, pr, _ in v4[2:]] == [("192.0.2.11", "192.0.2.22", 50),
                                                      ("192.0.2.22", "192.0.2.11", 50),
                                                      ("192.0.2.3", "192.0.2.22", 59)]
    v6 = [(p[IPv6].src, p[IPv6].dst, p[IPv6].nh, p[IPv6].plen) for p in pkts if IPv6 in p
          and p[IPv6].nh in (59, 50)]
    assert v6[:2] == [("2001:db8::1", "2001:db8::2", 59, 8), ("2001:db8::2", "2001:db8::1", 59, 0)]
    # the same over IPv6: a's through ESP, and b's answer (b's neighbor
    # discovery to a goes under ESP too: the out flow covers it); mallory's
    # refused, nothing back to it
    rest = [(s, d, nh) for s, d, nh, _ in v6[2:]]
    assert rest.count(("2001:db8::11", "2001:db8::22", 50)) == 1
    assert rest.count(("2001:db8::3", "2001:db8::22", 59)) == 1
    assert set(rest) == {("2001:db8::11", "2001:db8::22", 50), ("2001:db8::3", "2001:db8::22", 59),
                         ("2001:db8::22", "2001:db8::11", 50)}


def test_since_counts_the_rise(ipsecsim, tmp_path):
    scn = tmp_path / "r.scn"
    scn.write_text(SCN.replace("esp.output == 1 since 2500ms", "esp.output == 2 since 2500ms"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 1
    line = SCN.splitlines().index("at 3500ms expect b esp.output == 1 since 2500ms") + 1
    assert (f"FAIL {scn}:{line}: at 3500ms expect b esp.output == 2 since 2500ms: got 1"
            in r.stdout.splitlines())


NOSOCK = """\
node a b
link l a=192.0.2.1/24,2001:db8::1/64 b=192.0.2.2/24,2001:db8::2/64
capture l l.pcap
at 1s raw a 192.0.2.2 59 as n4 quiet
at 1s raw a 2001:db8::2 59 as n6 quiet
at 1s raw a 2001:db8::2 253 as o6 quiet
end 3s
expect b ip.noproto == 1
expect b ip6.nonxthdr == 1
expect b ip6.noproto == 1
expect n4 received == 0
"""


def test_without_a_socket(ipsecsim, tmp_path):
    scn = tmp_path / "n.scn"
    scn.write_text(NOSOCK)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    pkts = rdpcap(str(tmp_path / "out" / "l.pcap"))
    # IPv4: protocol unreachable; IPv6: parameter problem for 253 at the
    # next header field (offset 6), nothing for 59
    unreach = [p for p in pkts if ICMP in p and p[ICMP].type == 3]
    assert len(unreach) == 1 and unreach[0][ICMP].code == 2
    pp = [p for p in pkts if ICMPv6ParamProblem in p]
    assert len(pp) == 1 and pp[0][ICMPv6ParamProblem].code == 1
    assert pp[0][ICMPv6ParamProblem].ptr == 6


def test_dummy_after_esp(ipsecsim, tmp_path):
    """Protocol 59 out of ESP with nobody to take it: RFC 4303's dummy
    packet, counted and discarded without an ICMP error."""
    scn = tmp_path / "d.scn"
    text = SCN.replace("listen b raw 59 reflect\n", "")
    text = text[:text.index("expect r4")] + (
        "expect b esp.dummy == 2\nexpect b esp.input == 2\nexpect b ip.noproto == 1\n"
        "expect b icmp.outhist.unreach == 1\nexpect b ip6.nonxthdr == 1\n"
        "expect b icmp6.outhist.paramprob == 0\nexpect b ipsec.inpolicy == 2\n"
        "expect esp received == 0\nexpect esp6 received == 0\nexpect rogue received == 0\n")
    scn.write_text(text)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    # ip.noproto and the one unreachable are the clear packet from a's
    # first address (1 s), ip6.nonxthdr its IPv6 one (2 s); mallory's are
    # refused by the policy first
    assert r.returncode == 0, r.stdout + r.stderr


REFUSED = [
    ("listen b raw 17", "protocol 17 is UDP, which the stack handles itself; a raw socket "
     "takes another (59: no next header)"),
    ("listen b raw 59 bounce", "usage: listen NODE raw PROTO [reflect]"),
    ("expect b raw 59 packets == 0", "no 'listen b raw 59' before this line"),
    ("expect b raw 300 packets == 0", "usage: expect NODE raw PROTO packets|bytes OP VALUE"),
    ("at 1s raw a 192.0.2.2 50", "protocol 50 is ESP, which the stack handles itself; a raw "
     "socket takes another (59: no next header)"),
    ("at 1s raw a 192.0.2.2 256", "bad protocol '256' (an IP protocol number, 0 to 255)"),
    ("at 1s raw a 192.0.2.2 59 from 192.0.2.9",
     "a has no address 192.0.2.9 (from names one of the node's own)"),
    ("at 3s expect a ip.total == 1 since 4s", "since 4s is not before the at's time, 3s: the "
     "rise is counted from an earlier time up to the at's"),
    ("at 3s expect a ip.total == 1 since 1", "bad value '1' for since: a time with its unit, ns, "
     "us, ms, s, m or h, written right after the number (such as 1.5s, 250ms or 10m), at most "
     "18446744073.709551615s"),
    ("expect a ip.total == 1 since 1s", "'since' needs 'at TIME expect ...': the rise up to "
     "then"),
    ("at 3s expect b ipsec sas == 0 since 1s", "'since' takes a counter: NODE COUNTER, LINK "
     "COUNTER, a listener's packets or bytes, a named sender's count, a pf rule's "
     "evaluations, packets or bytes, a pfkey listener's or a key manager's count"),
]


@pytest.mark.parametrize("line,msg", REFUSED)
def test_refused(ipsecsim, tmp_path, line, msg):
    scn = tmp_path / "bad.scn"
    scn.write_text(f"node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n{line}\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{scn}:3: {msg}"


def test_listened_twice(ipsecsim, tmp_path):
    scn = tmp_path / "bad.scn"
    scn.write_text("node a b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"
                   "listen b raw 59\nlisten b raw 59 reflect\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == f"{scn}:4: b already listens on raw protocol 59"
