"""Independent readers check our pcaps: tshark finds nothing malformed and no
bad checksum, and scapy recomputes every checksum and reassembles fragments."""
import subprocess

import pytest
from scapy.all import ICMP, IP, TCP, UDP, Ether, defragment, raw, rdpcap
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment, defragment6, in6_chksum

from conftest import SCENARIOS

def captures(path):
    """The pcaps a scenario file writes, its includes' too."""
    for line in path.read_text().splitlines():
        words = line.split("#")[0].split()
        if len(words) == 3 and words[0] == "capture":
            yield words[2]
        elif len(words) == 2 and words[0] == "include":
            yield from captures(path.parent / words[1])


PCAPS = [(scn.stem, pcap) for scn in SCENARIOS for pcap in captures(scn)]


def test_every_scenario_captures_something():
    assert len(PCAPS) >= len(SCENARIOS)


# The attack scenarios' captures carry the attack on purpose: what tshark
# says of them is checked in test_ipsec_oracles.py.
CLEAN = [(s, p) for s, p in PCAPS if not s.endswith("-attack")]


def check_ipv6_upper_layer(b):
    """IPv6 has no header checksum: the upper layer's (ICMPv6, UDP, TCP) covers
    the pseudo header (RFC 8200 8.1).  scapy's in6_chksum recomputes it over
    the bytes as captured (b: from the IPv6 header on), not over a rebuilt
    layer, which would re-serialize the header an error quotes."""
    ip6 = IPv6(b)
    layer = ip6.payload
    # ICMPv6 names its checksum cksum, TCP and UDP chksum
    while layer and not any(f.name in ("cksum", "chksum") for f in layer.fields_desc):
        layer = layer.payload  # past extension headers
    if not layer or (isinstance(layer, (UDP, TCP)) and IPv6ExtHdrFragment in ip6):
        return 0  # (a fragment's checksum covers the whole datagram)
    if isinstance(layer, UDP) and layer.len != len(raw(layer)):
        return 0  # not a datagram of ours: what an attack injects, or a quote

    data = bytearray(b[len(b) - len(raw(layer)):])
    at = 6 if isinstance(layer, UDP) else 16 if isinstance(layer, TCP) else 2
    data[at:at + 2] = b"\0\0"
    nh = 17 if isinstance(layer, UDP) else 6 if isinstance(layer, TCP) else 58
    stored = layer.chksum if isinstance(layer, (UDP, TCP)) else layer.cksum
    assert in6_chksum(nh, layer, bytes(data)) == stored, ip6.summary()
    return 1


@pytest.mark.parametrize("scenario,pcap", CLEAN, ids=[f"{s}/{p}" for s, p in CLEAN])
def test_tshark_reads_without_complaint(scenario_runs, scenario, pcap):
    path = scenario_runs[scenario] / pcap
    # Turn on every checksum check tshark has; list frames it calls malformed
    # or whose expert info is a warning or an error.
    # (TCP's sequence analysis is judged apart, in test_tcp.py: its
    # out-of-order and lost-segment notes are what lossy links are for.)
    r = subprocess.run(
        ["tshark", "-n", "-r", str(path),
         "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-o", "tcp.analyze_sequence_numbers:FALSE",
         # A reset is a warning to tshark, and what some scenarios are for.
         # An ICMP error quotes only the start of a TCP segment, whose
         # checksum tshark then finds wrong, or an ESP packet, whose
         # sequence number it takes for one out of order; scapy checks the
         # ICMP's own checksum.
         "-Y", "_ws.malformed || (_ws.expert.severity >= 6291456 && !tcp.flags.reset == 1"
               " && !((icmp || icmpv6) && (tcp || esp)))",
         "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"tshark complains about {path}:\n{r.stdout}"
    # And it saw every frame we wrote.
    count = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields",
                            "-e", "frame.number"], capture_output=True, text=True)
    assert len(count.stdout.split()) == len(rdpcap(str(path))) > 0


@pytest.mark.parametrize("scenario,pcap", PCAPS, ids=[f"{s}/{p}" for s, p in PCAPS])
def test_scapy_agrees_with_every_checksum(scenario_runs, scenario, pcap):
    checked = 0
    fragments6 = {}
    for pkt in rdpcap(str(scenario_runs[scenario] / pcap)):
        if "enc0" in pcap:
            b = raw(pkt)[12:]  # LINKTYPE_ENC: a 12-byte enchdr, then IP
            pkt = IPv6(b) if b[0] >> 4 == 6 else IP(b)
        elif "pflog" in pcap:
            b = bytes(pkt.original)[100:]  # LINKTYPE_PFLOG: a 100-byte pfloghdr
            pkt = IPv6(b) if b[0] >> 4 == 6 else IP(b)
        else:
            b = bytes(pkt.original)[14:]  # Ethernet: what our links carry
        if b[0] >> 4 == 6:
            if pkt[IPv6].nh == 44:  # a fragment: the checksum covers the datagram
                # (not "IPv6ExtHdrFragment in pkt": an error may quote one)
                key = (pkt[IPv6].src, pkt[IPv6].dst, pkt[IPv6ExtHdrFragment].id)
                fragments6.setdefault(key, []).append(pkt[IPv6])
                continue
            if IP not in pkt:
                checked += check_ipv6_upper_layer(b[:40 + int.from_bytes(b[4:6], "big")])
                continue
        if IP not in pkt:
            continue
        ip = pkt[IP]
        fresh = IP(raw(ip))
        del fresh.chksum
        assert IP(raw(fresh)).chksum == ip.chksum
        checked += 1
        while IP in ip.payload:  # a tunnel: the transport header is the inner one's
            ip = ip.payload[IP]
        whole = ip.flags.MF == 0 and ip.frag == 0
        if whole and IPv6 in ip.payload:  # IPv6 inside IPv4
            checked += check_ipv6_upper_layer(raw(ip.payload[IPv6]))
            continue
        for layer in (UDP, TCP, ICMP):
            if whole and layer in ip and not (layer in (UDP, TCP) and ICMP in ip) and \
                    not (layer is UDP and ip[UDP].chksum == 0):  # IPv4 UDP: none
                again = IP(raw(ip))
                del again[layer].chksum
                assert IP(raw(again))[layer].chksum == ip[layer].chksum, pkt.summary()
    for frags in fragments6.values():
        whole = defragment6(frags)
        if IPv6ExtHdrFragment not in whole:  # every fragment was captured
            checked += check_ipv6_upper_layer(raw(whole))
    if scenario != "bottleneck" or pcap != "b.pcap":
        assert checked > 0


def test_pcaps_are_nanosecond_and_virtual_time(scenario_runs):
    path = scenario_runs["two-hosts-ping"] / "l1.pcap"
    data = path.read_bytes()
    assert data[:4] == bytes.fromhex("4d3cb2a1")  # nanosecond pcap, little endian
    pkts = rdpcap(str(path))
    # The ping starts at 1 s: ARP request at exactly 1.000000000, the reply
    # after the 1 ms wire delay.
    assert pkts[0].time == 1
    assert pkts[1].time - pkts[0].time == pytest.approx(0.001, abs=1e-9)


def test_fragments_reassemble_in_scapy(scenario_runs):
    pkts = rdpcap(str(scenario_runs["fragmentation"] / "l2.pcap"))
    frags = [p[IP] for p in pkts if IP in p and p[IP].proto == 17]
    assert len(frags) == 7
    offsets = sorted(f.frag * 8 for f in frags)
    assert offsets == [0, 552, 1104, 1480, 2032, 2584, 2960]
    whole = [p for p in defragment(frags) if UDP in p]
    assert len(whole) == 1
    udp = whole[0][UDP]
    assert (udp.sport, udp.dport, udp.len) == (4000, 5000, 3008)
    assert bytes(udp.payload) == bytes(i & 0xff for i in range(3000))


def test_need_frag_carries_next_hop_mtu(scenario_runs):
    pkts = rdpcap(str(scenario_runs["fragmentation"] / "l1.pcap"))
    errs = [p[ICMP] for p in pkts if ICMP in p and p[ICMP].type == 3]
    assert len(errs) == 1
    assert errs[0].code == 4 and errs[0].nexthopmtu == 576
    # It quotes the refused packet: 1028 bytes with DF, cut to 548.
    quoted = errs[0].payload
    assert bytes(quoted)[:1] == b"\x45" and len(bytes(quoted)) == 548


def test_v6_tunnel_entry_sends_packet_too_big(scenario_runs):
    """RFC 2473 7.1 b: an inner IPv6 packet over 1280 bytes that will not fit
    the tunnel once wrapped is refused with "packet too big" carrying the
    tunnel's MTU (wan1's 1400 less 40 for the outer header and 37 for
    AES-GCM ESP at its most); h1 then sends fragments that fit it."""
    pkts = rdpcap(str(scenario_runs["ipv6-vpn"] / "lan1.pcap"))
    ptb = [p for p in pkts if ICMPv6PacketTooBig in p]
    assert [(p[IPv6].src, p[IPv6].dst, p[ICMPv6PacketTooBig].mtu, p[IPv6].plen + 40)
            for p in ptb] == [("2001:db8:1::1", "2001:db8:1::10", 1323, 1280)]
    quoted = ptb[0][ICMPv6PacketTooBig].payload
    assert bytes(quoted)[:1] == b"\x60" and len(bytes(quoted)) == 1280 - 48
    frags = [(p.time, p[IPv6].plen + 40) for p in pkts
             if IPv6ExtHdrFragment in p and p[IPv6].src == "2001:db8:1::10"]
    before = [n for t, n in frags if t < ptb[0].time]
    after = [n for t, n in frags if t > ptb[0].time]
    assert before == [1496, 608] and len(after) == 2 and max(after) <= 1323


def test_v6_tunnel_under_1280_asks_for_1280(scenario_runs):
    """A tunnel with room for only 1223 bytes still asks for 1280, the
    larger of its MTU and IPv6's minimum (RFC 2473 7.1 b); the fragments
    of 1280 bytes that follow go through, the outer packet fragmented."""
    d = scenario_runs["ipv6-tunnel-min-mtu"]
    ptb = [p[ICMPv6PacketTooBig].mtu for p in rdpcap(str(d / "lan1.pcap"))
           if ICMPv6PacketTooBig in p]
    assert ptb == [1280]
    wan = [p[IPv6] for p in rdpcap(str(d / "wan.pcap")) if IPv6ExtHdrFragment in p]
    assert sorted(p.plen + 40 for p in wan) == [116, 1296]


def test_routed_chain_ttls(scenario_runs):
    pkts = [p for p in rdpcap(str(scenario_runs["routed-chain"] / "l2.pcap")) if IP in p]
    echo = [p[IP] for p in pkts if ICMP in p and p[ICMP].type == 8]
    # Four requests cross r1 with TTL 63 (three answered, one to a host that
    # never answers ARP); the TTL-2 one crosses with 1.
    assert [ip.ttl for ip in echo] == [63, 63, 63, 63, 1]
    exceeded = [p[IP] for p in pkts if ICMP in p and p[ICMP].type == 11]
    assert len(exceeded) == 1 and exceeded[0].src == "10.0.12.2"
    assert exceeded[0][ICMP].code == 0


def test_switch_floods_broadcast_and_learns(scenario_runs):
    # On h3's port: broadcasts from everyone, and unicast only from or to h3.
    from scapy.all import ARP
    pkts = rdpcap(str(scenario_runs["switch-arp"] / "h3.pcap"))
    h3 = next(p[ARP].hwsrc for p in pkts if ARP in p and p[ARP].op == 2
              and p[ARP].psrc == "10.1.0.3")
    bcast = [p for p in pkts if p[Ether].dst == "ff:ff:ff:ff:ff:ff"]
    stray = [p.summary() for p in pkts
             if p[Ether].dst not in ("ff:ff:ff:ff:ff:ff", h3) and p[Ether].src != h3]
    assert stray == []
    # 8 ARP requests flooded to h3 (see the scenario), all broadcast.
    assert len(bcast) == 8
    # h3 answered two pings from h1 and two from h2.
    replies = [p for p in pkts if ICMP in p and p[ICMP].type == 0 and p[Ether].src == h3]
    assert len(replies) == 4


def test_reordering_and_duplicates_seen_at_the_receiver(scenario_runs):
    pkts = rdpcap(str(scenario_runs["impairments"] / "b.pcap"))
    seqs = [p[ICMP].seq for p in pkts if ICMP in p and p[ICMP].type == 8]
    assert len(seqs) == 217 and len(set(seqs)) == 200
    # Each request overtaken by a later one is an inversion in arrival order.
    overtaken = sum(1 for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1])
    assert overtaken > 5
    assert seqs != sorted(seqs)
