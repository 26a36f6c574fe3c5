"""IPComp checked from outside: Python's zlib inflates every IPComp payload on
the wire of scenarios/ipcomp.scn (raw deflate, window bits -15, as any
RFC 2394 peer would) and the result is, byte for byte, the packet the
receiver's enc0 saw after decompression; nothing under 90 bytes and nothing
that would not shrink travels compressed; tshark names the CPIs, and
tcpdump prints enc0's IPComp packets as "(unprotected)"."""
import struct
import subprocess
import zlib

from scapy.all import IP, IPv6, raw, rdpcap

IPCOMP = 108
CPIS = {0x1000, 0x1001, 0x1100, 0x1101, 0x1200, 0x1201, 0x1400, 0x1401}


def wire_ip(pkt):
    b = bytes(pkt.original)[14:]
    return IPv6(b) if b[0] >> 4 == 6 else IP(b)


def decompressed(b):
    """The packet an IPComp packet stands for: the header's next header
    back in the IP header, the payload inflated, the lengths put right.
    None when the packet is not IPComp."""
    if b[0] >> 4 == 4:
        hl = (b[0] & 0x0f) * 4
        if b[9] != IPCOMP:
            return None
        nh, cpi = b[hl], struct.unpack("!H", b[hl + 2:hl + 4])[0]
        body = zlib.decompress(b[hl + 4:], -15)
        hdr = bytearray(b[:hl])
        hdr[9] = nh
        hdr[2:4] = struct.pack("!H", hl + len(body))
        hdr[10:12] = b"\0\0"
        s = sum(struct.unpack(f"!{hl // 2}H", bytes(hdr)))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        hdr[10:12] = struct.pack("!H", ~s & 0xffff)
        return cpi, len(b) - hl - 4, bytes(hdr) + body
    if b[6] != IPCOMP:
        return None  # (no extension headers in this scenario)
    nh, cpi = b[40], struct.unpack("!H", b[42:44])[0]
    body = zlib.decompress(b[44:], -15)
    hdr = bytearray(b[:40])
    hdr[6] = nh
    hdr[4:6] = struct.pack("!H", len(body))
    return cpi, len(b) - 44, bytes(hdr) + body


def test_every_ipcomp_packet_inflates_to_what_enc0_saw(scenario_runs):
    d = scenario_runs["ipcomp"]
    to_b = []
    for pkt in rdpcap(str(d / "l.pcap")):
        b = raw(wire_ip(pkt))
        got = decompressed(b)
        if got is None:
            continue
        cpi, clen, whole = got
        assert cpi in CPIS
        payload = len(whole) - ((whole[0] & 0x0f) * 4 if whole[0] >> 4 == 4 else 40)
        # OpenBSD's minimum, and RFC 3173's non-expansion rule
        assert payload >= 90 and clen + 4 < payload, (cpi, payload, clen)
        if cpi in (0x1000, 0x1100, 0x1200, 0x1400):  # a to b
            to_b.append(whole)
    # b's enc0 shows each of them, decompressed, on its way in
    seen_in = []
    for f in rdpcap(str(d / "b-enc0.pcap")):
        r = raw(f)
        af, spi, flags = struct.unpack("<I", r[:4])[0], struct.unpack("!I", r[4:8])[0], \
            struct.unpack("<I", r[8:12])[0]
        if spi in (0x1000, 0x1100, 0x1200, 0x1400):
            assert flags == 0  # IPComp protects nothing
            seen_in.append(r[12:])
    # a's ipcomp.output is 27: these 24 (big pings over IPv4, IPv6 and both
    # tunnels, 14 TCP segments, the text datagram), the random datagram
    # (counted, then sent as it is) and the bundle's two big pings (CPI 0x1300)
    assert len(to_b) == 24
    # enc0 sees the ones that were not worth compressing too (ipcomp.minlen)
    assert all(w in seen_in for w in to_b)


def test_small_and_random_go_uncompressed(scenario_runs):
    """The 24-byte pings and the datagram of random bytes cross as they are,
    with no IPComp header; the repeated text crosses compressed."""
    d = scenario_runs["ipcomp"]
    plain_udp = [wire_ip(p) for p in rdpcap(str(d / "l.pcap"))
                 if IP in wire_ip(p) and wire_ip(p)[IP].proto == 17
                 and wire_ip(p)[IP].dst == "192.0.2.2"]
    assert [len(raw(ip)) - 28 for ip in plain_udp] == [160]
    small = [ip for ip in (wire_ip(p) for p in rdpcap(str(d / "l.pcap")))
             if IP in ip and ip[IP].proto == 1 and ip[IP].len == 52]
    assert len(small) == 4  # two pings to 192.0.2.2 and their replies


def test_tshark_names_the_cpis(scenario_runs):
    d = scenario_runs["ipcomp"]
    r = subprocess.run(["tshark", "-n", "-r", str(d / "l.pcap"), "-Y", "ipcomp", "-T", "fields",
                        "-e", "ipcomp.cpi"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cpis = {int(x, 16) for x in r.stdout.split()}
    assert cpis == CPIS


def test_tcpdump_prints_enc0(scenario_runs):
    d = scenario_runs["ipcomp"]
    r = subprocess.run(["tcpdump", "-n", "-r", str(d / "b-enc0.pcap")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    unprot = [l for l in lines if "(unprotected): SPI 0x00001" in l]
    assert len(unprot) >= 20
    # the bundle's packets: ESP and AH applied, then IPComp's tap
    assert any("(authentic,confidential): SPI 0x10001300" in l for l in lines) or \
        any("(authentic): SPI 0x20001300" in l for l in lines)
