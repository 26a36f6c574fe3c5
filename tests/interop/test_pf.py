"""pf, NAT and NAT-T checked from outside: scapy recomputes every checksum of
every packet in the captures of the NAT scenarios (and the quoted headers of
ICMP errors pf translated), tcpdump and tshark read pflog0, tshark decodes
the NAT-T captures as UDPENCAP + ESP and decrypts them with the run's esp_sa
file, and each security-relevant rule is shown from both sides: the variant
of a scenario without it fails in the way it should."""
import json
import re
import struct

import pytest
from scapy.all import ICMP, IP, TCP, UDP, IPerror, IPv6, UDPerror, rdpcap
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest

from conftest import ROOT, run

NAT_CAPTURES = [("pf-nat", "wan"), ("pf-nat", "lan"), ("pf-ipv6", "wan"), ("pf-ipv6", "lan"),
                ("pf-enc0-binat", "lan1"), ("pf-enc0-binat", "lan2"),
                ("pf-gateway", "wan"), ("natt-road-warrior", "hlan"),
                ("natt-road-warrior", "wan"), ("natt-transport", "hlan"),
                ("natt-transport", "wan"), ("natt-two-clients", "wan"),
                ("natt-mapping-change", "wan")]


def sa_lines(d):
    return [l for l in (d / "esp_sa").read_text().splitlines() if l.startswith('"')] \
        if (d / "esp_sa").exists() else []


def check_packet(pkt):
    """Every checksum of one IP packet, as scapy recomputes it: the IP
    header's, and TCP's, UDP's (unless it sends none), ICMP's and ICMPv6's
    over the whole message.  Returns how many were checked."""
    checked = 0
    if IP in pkt:
        ip = pkt[IP]
        raw = bytes(ip)
        hl = ip.ihl * 4
        assert _inet_cksum(raw[:hl]) == 0, pkt.summary()
        checked += 1
        if ip.frag or ip.flags.MF:
            return checked
        payload = raw[hl:ip.len]
        src, dst = ip.src, ip.dst
        pseudo = lambda proto, n: (_ip4(src) + _ip4(dst) + struct.pack("!BBH", 0, proto, n))
    elif IPv6 in pkt:
        ip6 = pkt[IPv6]
        raw = bytes(ip6)
        payload = raw[40:40 + ip6.plen]
        if ip6.nh not in (6, 17, 58):
            return 0
        pseudo = lambda proto, n: (_ip6(ip6.src) + _ip6(ip6.dst) +
                                   struct.pack("!IxxxB", n, proto))
        proto = ip6.nh
        return checked + _check_l4(proto, payload, pseudo, v6=True)
    else:
        return 0
    return checked + _check_l4(ip.proto, payload, pseudo, v6=False)


def _ip4(a):
    return bytes(int(x) for x in a.split("."))


def _ip6(a):
    import socket
    return socket.inet_pton(socket.AF_INET6, a)


def _inet_cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _check_l4(proto, payload, pseudo, v6):
    """1 when the upper layer's checksum was checked and right; 0 when it
    had none to check (UDP over IPv4 without one)."""
    if proto == 6:
        assert _inet_cksum(pseudo(6, len(payload)) + payload) == 0, "tcp checksum"
        return 1
    if proto == 17:
        if not v6 and payload[6:8] == b"\0\0":
            return 0
        assert _inet_cksum(pseudo(17, len(payload)) + payload) == 0, "udp checksum"
        return 1
    if proto == 1 and not v6:
        assert _inet_cksum(payload) == 0, "icmp checksum"
        if payload[0] in (3, 11, 12) and len(payload) >= 28:
            # the quoted IPv4 header of an error is whole: its checksum holds
            q = payload[8:]
            hl = (q[0] & 0x0f) * 4
            assert _inet_cksum(q[:hl]) == 0, "quoted ip checksum"
        return 1
    if proto == 58 and v6:
        assert _inet_cksum(pseudo(58, len(payload)) + payload) == 0, "icmp6 checksum"
        return 1
    return 0


@pytest.mark.parametrize("scn,cap", NAT_CAPTURES, ids=[f"{s}-{c}" for s, c in NAT_CAPTURES])
def test_every_checksum_of_every_translated_packet(scenario_runs, scn, cap):
    pkts = rdpcap(str(scenario_runs[scn] / f"{cap}.pcap"))
    checked = sum(check_packet(p) for p in pkts)
    assert checked >= len([p for p in pkts if IP in p or IPv6 in p])


def test_nat_hides_the_lan(scenario_runs):
    """On pf-nat's WAN only the router's address: every TCP and UDP source
    port of h1 and h2 moved into 50001-65535, except the redirected
    connection's; on the LAN only the hosts' own."""
    wan = rdpcap(str(scenario_runs["pf-nat"] / "wan.pcap"))
    ips = [p[IP] for p in wan if IP in p]
    assert {ip.src for ip in ips} | {ip.dst for ip in ips} == {"198.51.100.1", "198.51.100.2"}
    out = [ip for ip in ips if ip.src == "198.51.100.2" and (TCP in ip or UDP in ip)]
    l4 = lambda ip: ip[TCP] if TCP in ip else ip[UDP]
    ports = {l4(ip).sport for ip in out if l4(ip).sport != 80}
    assert ports and all(50001 <= p <= 65535 for p in ports), ports
    # five flows (two UDP, the TCP connection out, the port unreachable
    # one), each its own port
    assert len(ports) == 4
    lan = rdpcap(str(scenario_runs["pf-nat"] / "lan.pcap"))
    assert {p[IP].src for p in lan if IP in p} <= {"192.168.1.10", "192.168.1.11",
                                                  "198.51.100.1"}


def test_icmp_error_translated_back(scenario_runs):
    """The server's port unreachable quotes the datagram as it saw it (from
    the router's address and a NAT port); on the LAN it quotes h2's own
    address and port, its UDP checksum set to 0 as OpenBSD's pf does."""
    wan = [p for p in rdpcap(str(scenario_runs["pf-nat"] / "wan.pcap"))
           if ICMP in p and p[ICMP].type == 3]
    lan = [p for p in rdpcap(str(scenario_runs["pf-nat"] / "lan.pcap"))
           if ICMP in p and p[ICMP].type == 3]
    assert len(wan) == len(lan) == 1
    w, l = wan[0], lan[0]
    assert (w[IP].dst, w[IPerror].src, w[IPerror].dst) == ("198.51.100.2", "198.51.100.2",
                                                           "198.51.100.1")
    assert 50001 <= w[UDPerror].sport <= 65535 and w[UDPerror].dport == 9999
    assert (l[IP].dst, l[IPerror].src, l[IPerror].dst) == ("192.168.1.11", "192.168.1.11",
                                                           "198.51.100.1")
    assert (l[UDPerror].sport, l[UDPerror].dport, l[UDPerror].chksum) == (6000, 9999, 0)
    assert check_packet(l) == 2


PFLOG_GATEWAY = [
    "rule 9/0(match): pass in on enc0: 10.1.0.10 > 10.2.0.20: ICMP echo request",
    "rule 8/0(match): pass in on enc0: 10.1.0.10.",
    "rule 7/0(match): block in on enc0: 10.1.0.10.",
    "rule 7/0(match): block in on enc0: 10.1.0.10.4053 > 10.2.0.20.9:",
    "rule 0/0(match): block in on wan0: 192.0.2.66 > 192.0.2.2: ICMP echo request",
    "rule 0/0(match): block in on wan0: 192.0.2.66 > 192.0.2.2: ICMP echo request",
]


def test_tcpdump_reads_pflog(scenario_runs):
    """tcpdump -e prints each pflog0 frame as OpenBSD's does: rule, reason,
    action, direction and interface, then the packet."""
    out = subprocess_out("tcpdump", "-enr", scenario_runs["pf-gateway"] / "gw2-pflog.pcap")
    lines = [re.sub(r"^\S+ ", "", l) for l in out.splitlines()]
    assert len(lines) == len(PFLOG_GATEWAY)
    for got, want in zip(lines, PFLOG_GATEWAY):
        assert got.startswith(want), got
    # the ssh SYN and the web SYN, to the ports they went to
    assert ".22: Flags [S]" in lines[2] and ".7: Flags [S]" in lines[1]


def test_pflog_header(scenario_runs):
    """struct pfloghdr byte for byte (100 bytes), and tshark's reading of it."""
    raw = (scenario_runs["pf-gateway"] / "gw2-pflog.pcap").read_bytes()
    assert struct.unpack("<I", raw[20:24])[0] == 117  # LINKTYPE_PFLOG
    frames, off = [], 24
    while off < len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        frames.append(raw[off + 16:off + 16 + incl])
        off += 16 + incl
    assert len(frames) == 6
    f = frames[0]
    length, af, action, reason = f[0], f[1], f[2], f[3]
    assert (length, af, action, reason) == (100, 2, 0, 0)
    assert f[4:20].rstrip(b"\0") == b"enc0" and f[20:36] == bytes(16)
    assert struct.unpack("!II", f[36:44]) == (9, 0xffffffff)
    assert f[60] == 1 and f[62] == 2
    assert f[64:68] == bytes([10, 1, 0, 10]) and f[80:84] == bytes([10, 2, 0, 20])
    assert f[100] >> 4 == 4  # the IP packet follows
    blocked = frames[4]
    assert (blocked[2], blocked[4:20].rstrip(b"\0")) == (1, b"wan0")
    t = tshark_fields(scenario_runs["pf-gateway"] / "gw2-pflog.pcap",
                      "pflog.rulenr", "pflog.action", "pflog.ifname", "pflog.dir")
    assert t == [["9", "0", "enc0", "1"], ["8", "0", "enc0", "1"], ["7", "1", "enc0", "1"],
                 ["7", "1", "enc0", "1"], ["0", "1", "wan0", "1"], ["0", "1", "wan0", "1"]]


def test_natt_decodes_and_decrypts(scenario_runs):
    """natt-road-warrior's WAN: every ESP packet in UDP 4500 (tshark's
    UDPENCAP), each ICV good with the run's esp_sa file, the keepalives as
    tshark names them, and no bare ESP."""
    d = scenario_runs["natt-road-warrior"]
    pcap = d / "wan.pcap"
    sa = sa_lines(d)
    assert count_frames(pcap, "esp") == 85
    assert count_frames(pcap, "udpencap && esp") == 85
    assert count_frames(pcap, "esp && !udp") == 0
    assert count_frames(pcap, "esp.icv_good == 1", sa) == 85
    assert count_frames(pcap, "udpencap.nat_keepalive") == 2
    # the NAT's port for 4500 is in 50001-65535, on every packet from it
    sports = {p[UDP].sport for p in rdpcap(str(pcap)) if UDP in p and p[IP].src == "198.51.100.2"}
    assert len(sports) == 1 and 50001 <= sports.pop() <= 65535


def test_natt_mapping_change_on_the_wire(scenario_runs):
    """Two NAT ports in turn, and the gateway's answers to each."""
    pkts = [p for p in rdpcap(str(scenario_runs["natt-mapping-change"] / "wan.pcap")) if UDP in p]
    seq = []
    for p in pkts:
        port = p[UDP].sport if p[IP].src == "198.51.100.2" else p[UDP].dport
        if not seq or seq[-1] != port:
            seq.append(port)
    assert len(seq) == 2 and seq[0] != seq[1]
    answers = [p[UDP].dport for p in pkts if p[IP].src == "198.51.100.1"]
    assert answers.count(seq[0]) == 5 and answers.count(seq[1]) == 5


def test_natt_two_clients_apart(scenario_runs):
    """Each client's tunnel on its own NAT port, with its own SPI each way."""
    spis = {}
    for p in rdpcap(str(scenario_runs["natt-two-clients"] / "wan.pcap")):
        if UDP in p and p[UDP].dport in range(1024, 65536) and p[IP].src == "198.51.100.1":
            spi = struct.unpack("!I", bytes(p[UDP].payload)[:4])[0]
            spis.setdefault(p[UDP].dport, set()).add(spi)
    assert sorted(spis.values(), key=min) == [{0x1001}, {0x2001}]


def variant(tmp_path, ipsecsim, name, edit):
    """Run a shipped scenario changed by edit(text) -> text."""
    text = (ROOT / "scenarios" / f"{name}.scn").read_text()
    changed = edit(text)
    assert changed != text
    scn = tmp_path / f"{name}.scn"
    scn.write_text(changed)
    return run(ipsecsim, "run", "-o", tmp_path / "out", scn)


def test_two_clients_need_flow_filters(ipsecsim, tmp_path):
    """Without the SAs' flow filters the gateway sends both clients'
    answers through the newest SA to the NAT's address: c1's never come."""
    r = variant(tmp_path, ipsecsim, "natt-two-clients",
                lambda s: re.sub(r" \\\n\tflow [^\n]*", "", s))
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "expect c1 icmp.inhist.echoreply == 3: got 0" in r.stdout


def test_transport_natt_needs_the_bypass(ipsecsim, tmp_path):
    """Without the bypass flow for port 4500 the host-to-host flows refuse
    the UDP packets that carry ESP, as OpenBSD's input policy check does."""
    r = variant(tmp_path, ipsecsim, "natt-transport",
                lambda s: re.sub(r"\tflow proto udp [^\n]*type bypass\n", "", s))
    assert r.returncode == 1
    assert "expect gw ipsec.inpolicy == 0: got" in r.stdout
    assert "expect gw udp 7 packets == 3: got 0" in r.stdout


def test_keepalives_hold_the_mapping(ipsecsim, tmp_path):
    """Without the laptop's keepalives the home router forgets the mapping
    during the pause, and the gateway has to follow a new port."""
    r = variant(tmp_path, ipsecsim, "natt-road-warrior",
                lambda s: s.replace("sysctl laptop net.inet.esp.udpencap_keepalive=20\n", ""))
    assert "expect gw esp.udpfloat == 1: got 2" in r.stdout
    assert "expect laptop esp.udpkeepaliveout == 2: got 0" in r.stdout


UDPENCAP_MISMATCH = """\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24
K="authkey 0x0101010101010101010101010101010101010101 enckey 0x03030303030303030303030303030303"
ipsec a {{
	flow esp from 192.0.2.1 to 192.0.2.2
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x100 {a} auth hmac-sha1 $K
	flow proto udp from 192.0.2.1 port 4500 to 192.0.2.2 type bypass
}}
ipsec b {{
	flow esp from 192.0.2.2 to 192.0.2.1
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x100 {b} auth hmac-sha1 $K
	flow proto udp from 192.0.2.2 port 4500 to 192.0.2.1 type bypass
}}
{extra}
listen b udp 9
at 1s udp a 192.0.2.2:9 size 10 count 3 interval 100ms quiet
end 2s
expect b udp 9 packets == {delivered}
expect b esp.udpinval == {inval}
expect b esp.udpneeded == {needed}
expect b esp.udpencin == {encin}
expect a esp.noudpencap == {noenc}
"""


@pytest.mark.parametrize("a,b,extra,delivered,inval,needed,encin,noenc", [
    ("udpencap", "udpencap", "", 3, 0, 0, 3, 0),
    ("udpencap", "", "", 0, 3, 0, 3, 0),
    ("", "udpencap", "", 0, 0, 3, 0, 0),
    # NAT-T switched off after the SAs went in: the sender cannot send them
    ("udpencap", "udpencap", "at 0.5s sysctl a net.inet.esp.udpencap=0", 0, 0, 0, 0, 3),
    # the receiver's NAT-T off: port 4500 is ordinary UDP, nobody listens
    ("udpencap", "udpencap", "at 0.5s sysctl b net.inet.esp.udpencap=0", 0, 0, 0, 0, 0),
], ids=["both", "sender-only", "receiver-only", "sender-off", "receiver-off"])
def test_udpencap_both_ends_must_agree(ipsecsim, tmp_path, a, b, extra, delivered, inval,
                                       needed, encin, noenc):
    scn = tmp_path / "t.scn"
    scn.write_text(UDPENCAP_MISMATCH.format(a=a, b=b, extra=extra, delivered=delivered,
                                            inval=inval, needed=needed, encin=encin,
                                            noenc=noenc))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr


def test_pfkey_refuses_udpencap_when_off(ipsecsim, tmp_path):
    """SADB_ADD with the UDPENCAP extension is EINVAL while
    net.inet.esp.udpencap is 0, and for AH at any time."""
    scn = tmp_path / "t.scn"
    scn.write_text("""\
node a
sysctl a net.inet.esp.udpencap=0
pfkey a as off add esp spi 0x100 src 192.0.2.1 dst 192.0.2.2 enc aes enckey 0x03030303030303030303030303030303 auth hmac-sha1 authkey 0x0101010101010101010101010101010101010101 udpencap 4500
at 1s sysctl a net.inet.esp.udpencap=1
at 2s pfkey a as on add esp spi 0x100 src 192.0.2.1 dst 192.0.2.2 enc aes enckey 0x03030303030303030303030303030303 auth hmac-sha1 authkey 0x0101010101010101010101010101010101010101 udpencap 4500
at 2s pfkey a as ah add ah spi 0x200 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 authkey 0x0101010101010101010101010101010101010101 udpencap 4500
end 3s
expect pfkey off errno == EINVAL
expect pfkey on errno == 0
expect pfkey ah errno == EINVAL
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr


BAD_RULES = """\
node r s
link l r.em0=192.0.2.1/24 s=192.0.2.2/24
pf r {
	pass in on em1 all
	pass in on em0 proto tcp from any to any port 99999
	block in quick on em0 from 10.0.0.0/33
	pass out on em0 from 10.0.0.0/8 nat-to 192.0.2.1
	pass in on em0 nat-to 192.0.2.1
	match in on em0 rdr-to 10.0.0.0/24
	pass in from <nosuch>
	nat on em0 from any to any -> 192.0.2.1
	pass in on em0 proto tcp flags XY
	set timeout tcp.bogus 10
	set limit states 0
	pass in on em0 inet from 2001:db8::1
	block in on em0 proto tcp keep state
	pass in on em0 $undefined
	match out on enc0 from 10.0.0.0/24 to 10.1.0.0/24 binat-to 10.2.0.0/16
	pass in on em0 proto udp to port 53 label "dns
	pass in on em0 proto tcp icmp-type echoreq
	pass in all
}
"""

BAD_RULE_ERRORS = [
    "{f}:4: r has no interface 'em1' (it has em0 enc0)",
    "{f}:5: a port must be a number from 0 to 65535, not '99999'",
    "{f}:6: '10.0.0.0/33' is not an address or a network (such as 10.0.0.0/24 or 2001:db8::/32)",
    "{f}:8: nat-to goes on an 'out' rule",
    "{f}:9: rdr-to 10.0.0.0/24: a network needs 'bitmask' (the only pool type here)",
    "{f}:10: table <nosuch> is not defined (table <nosuch> { ... } before the rule)",
    "{f}:11: 'nat' rules are pf's old syntax: write 'match out on IF ... nat-to ADDR' or "
    "'pass in on IF ... rdr-to ADDR'",
    "{f}:12: flags take the letters F S R P A U E W, as in S/SA, not 'XY'",
    "{f}:13: unknown timeout 'tcp.bogus' (tcp.first, tcp.established, udp.first, "
    "udp.single, udp.multiple, icmp.first, icmp.error, other.*, interval, adaptive.start ...)",
    "{f}:14: set limit states must be at least 1",
    "{f}:15: the rule's address families do not meet (an inet address with an inet6 one, "
    "or with inet6)",
    "{f}:16: a block rule makes no state: 'keep state' goes on pass rules",
    "{f}:17: macro 'undefined' is not defined",
    "{f}:18: binat-to maps one network onto another of the same size: "
    "from ADDR/LEN ... binat-to ADDR/LEN",
    "{f}:19: a string is not closed (\" missing)",
    "{f}:20: icmp-type goes with proto icmp (icmp6-type with icmp6)",
]


def test_bad_rules_each_reported(ipsecsim, tmp_path):
    """Every bad line of a pf block is reported with its file and line, the
    run does not start, and the exit status is 2."""
    scn = tmp_path / "bad.scn"
    scn.write_text(BAD_RULES)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    want = [e.replace("{f}", str(scn)) for e in BAD_RULE_ERRORS]
    assert r.stderr.splitlines() == want


def test_pf_file_and_its_errors(ipsecsim, tmp_path):
    """pf NODE file FILE reads pf.conf from a file, relative to the
    scenario, and names that file's lines in its errors."""
    conf = tmp_path / "pf.conf"
    conf.write_text("ext = \"em0\"\nblock in on $ext proto icmp\npass out on $ext\n")
    scn = tmp_path / "f.scn"
    scn.write_text("node r s\nlink l r.em0=192.0.2.1/24 s=192.0.2.2/24\n"
                   "pf r file pf.conf\nat 1s ping s 192.0.2.1 count 2\nend 3s\n"
                   "expect r pf rule 0 packets == 2\nexpect r pf.block == 2\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    conf.write_text("pass in on em0\nblock in on $nope\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"{conf}:2: macro 'nope' is not defined"]


def test_keepalives_need_an_end(ipsecsim, tmp_path):
    scn = tmp_path / "k.scn"
    scn.write_text("node a\nsysctl a net.inet.esp.udpencap_keepalive=20\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"{scn}:2: a scenario whose nodes send NAT keepalives needs an "
                                "'end TIME'")


def test_encap_udpencap(ipsecsim, tmp_path):
    """encap --udpencap writes ESP in UDP that scapy decrypts behind its
    NAT-T header, that verify reads back, and that tshark decodes."""
    from scapy.all import wrpcap
    from scapy.layers.ipsec import ESP, SecurityAssociation
    ek, ak = bytes(range(16)), bytes(range(20, 40))
    sa_file = tmp_path / "esp_sa"
    sa_file.write_text(f'"IPv4","192.0.2.1","192.0.2.2","0x00001000","AES-CBC [RFC3602]",'
                       f'"0x{ek.hex()}","HMAC-SHA-1-96 [RFC2404]","0x{ak.hex()}"\n')
    plain = [IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1000 + i, dport=9) / (b"x" * i)
             for i in range(5)]
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(inp), plain)
    for args, port in ((["--udpencap"], 4500), (["--udpencap", "4501"], 4501),
                       (["--udpencap=4502"], 4502)):
        r = run(ipsecsim, "encap", "--sa", sa_file, "--spi", "0x1000", *args, inp, out)
        assert r.returncode == 0, r.stderr
        ours = rdpcap(str(out))
        assert [(p[IP].proto, p[UDP].sport, p[UDP].dport, p[UDP].chksum) for p in ours] == \
            [(17, port, port, 0)] * 5
        peer = SecurityAssociation(ESP, spi=0x1000, crypt_algo="AES-CBC", crypt_key=ek,
                                   auth_algo="HMAC-SHA1-96", auth_key=ak,
                                   nat_t_header=UDP(sport=port, dport=port))
        for p, want in zip(ours, plain):
            if ESP not in p:  # scapy takes only 4500 for NAT-T by itself
                raw = bytes(p)
                p = IP(raw[:20]) / UDP(raw[20:28]) / ESP(raw[28:])
            assert bytes(peer.decrypt(p)) == bytes(want)
        if port == 4500:
            # verify reads ESP in UDP on 4500, the port RFC 3948 gives it
            r = run(ipsecsim, "verify", "--sa", sa_file, "--json", out)
            assert r.returncode == 0, r.stdout + r.stderr
            v = [json.loads(l) for l in r.stdout.splitlines()]
            assert [(x["seq"], x["udp_encap"], x["verdict"]) for x in v] == \
                [(i + 1, True, "ok") for i in range(5)]
            assert count_frames(out, "udpencap && esp") == 5
    r = run(ipsecsim, "encap", "--sa", sa_file, "--spi", "0x1000", "--udpencap=0", inp, out)
    assert r.returncode == 2 and "--udpencap port 0 is not a port" in r.stderr


def count_frames(pcap, flt, sa=()):
    """Frames tshark's display filter matches, ESP decrypted and its ICVs
    checked with the esp_sa lines given."""
    args = ["tshark", "-n", "-r", pcap]
    if sa:
        args += ["-o", "esp.enable_encryption_decode:TRUE",
                 "-o", "esp.enable_authentication_check:TRUE"]
        for line in sa:
            args += ["-o", "uat:esp_sa:" + line]
    return len(subprocess_out(*args, "-Y", flt, "-T", "fields", "-e", "frame.number").split())


def subprocess_out(*args):
    import subprocess
    r = subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def tshark_fields(pcap, *fields):
    args = ["tshark", "-r", pcap, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    return [l.split("\t") for l in subprocess_out(*args).splitlines()]


def test_natt_port_sorts_ike_keepalives_and_esp(ipsecsim, tmp_path):
    """On port 4500: the non-ESP marker (four zero bytes) goes to the IKE
    socket with the marker; a keepalive (one 0xFF byte) is consumed before
    any socket; anything else is ESP, and without its SA, esp.notdb.  With
    net.inet.esp.udpencap off, all of them are ordinary datagrams."""
    scn = tmp_path / "t.scn"
    scn.write_text("""\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24
listen b udp 4500
at 1s udp a:4500 192.0.2.2:4500 hex 00000000deadbeef count 2 interval 10ms quiet
at 1s udp a:4501 192.0.2.2:4500 hex ff count 3 interval 10ms quiet
at 1s udp a:4502 192.0.2.2:4500 hex 0000100000000001aabbccdd count 1 quiet
at 2s sysctl b net.inet.esp.udpencap=0
at 3s udp a:4503 192.0.2.2:4500 hex ff count 1 quiet
end 4s
expect b udp 4500 packets == 3
expect b udp 4500 bytes == 17
expect b esp.udpkeepalive == 3
expect b esp.udpencin == 1
expect b esp.notdb == 1
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr


def test_pf_on_enc0_in_transport_mode(ipsecsim, tmp_path):
    """What comes out of a transport-mode SA meets pf on enc0 (and not on
    the interface, which saw only ESP): UDP to port 9 blocked there, to
    port 10 passed; the interface's rules pass ESP only."""
    scn = tmp_path / "t.scn"
    scn.write_text("""\
node a b
link l a=192.0.2.1/24 b.em0=192.0.2.2/24
K="authkey 0x0101010101010101010101010101010101010101 enckey 0x03030303030303030303030303030303"
ipsec a {
	flow esp proto udp from 192.0.2.1 to 192.0.2.2
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 $K
}
ipsec b {
	flow esp proto udp from 192.0.2.2 to 192.0.2.1
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 $K
}
pf b {
	block in log on em0
	pass in on em0 proto esp
	block in on enc0 proto udp to port 9
}
listen b udp 9
listen b udp 10
at 1s udp a 192.0.2.2:9 size 10 count 3 interval 100ms quiet
at 1s udp a 192.0.2.2:10 size 10 count 2 interval 100ms quiet
end 2s
expect b esp.input == 5
expect b udp 9 packets == 0
expect b udp 10 packets == 2
expect b pf rule 2 packets == 3
expect b pf rule 1 packets == 5
expect b pf.block == 3
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
