"""Independent implementations check the data path of the shipped scenarios:
tshark decrypts every ESP packet with the esp_sa file the run wrote and
checks its ICV, scapy verifies AH ICVs and decrypts ESP to exactly what
enc0 saw, and tcpdump reads the enc0 captures as OpenBSD's tcpdump does."""
import subprocess

import pytest
from scapy.all import IP, Ether, IPv6, raw, rdpcap
from scapy.layers.ipsec import AH, ESP, IPSecIntegrityError, SecurityAssociation

TSHARK_ENC = {"NULL", "TripleDES-CBC [RFC2451]", "AES-CBC [RFC3602]", "AES-CTR [RFC3686]",
              "CAST5-CBC [RFC2144]", "BLOWFISH-CBC [RFC2451]",
              "AES-GCM with 16 octet ICV [RFC4106]"}  # tshark 4.0 has no ChaCha20


def esp_sa_lines(outdir, esn=True):
    """The SA lines of a run's esp_sa; without those marked ESN on request."""
    path = outdir / "esp_sa"
    if not path.exists():
        return []
    lines, marked = [], False
    for line in path.read_text().splitlines():
        if line.startswith("# ESN"):
            marked = True
        elif line.startswith('"'):
            if esn or not marked:
                lines.append(line)
            marked = False
    return lines


def tshark_esp(pcap, sa_lines):
    args = ["tshark", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for line in sa_lines:
        args += ["-o", "uat:esp_sa:" + line]
    # (not the ESP packets that ICMP errors quote, cut short)
    args += ["-Y", 'esp && !(frame.protocols contains "icmp:ip:esp") && '
             '!(frame.protocols contains "icmpv6:ipv6:esp")', "-T", "fields",
             "-e", "frame.number", "-e", "esp.spi",
             "-e", "esp.icv_good", "-e", "esp.protocol", "-e", "data.data"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = []
    for line in r.stdout.splitlines():
        frame, spi, good, nh, data = (line.split("\t") + [""] * 5)[:5]
        # Nothing after the header (protocol 59): tshark names no protocol
        # and shows the decrypted trailer as data; its last byte is the
        # next header
        if not nh and good == "1" and data:
            nh = "0x" + data[-2:]
        rows.append((frame, spi, good, nh))
    return rows


def test_tshark_checks_every_esp_icv(scenario_runs):
    checked = {}
    for name, outdir in scenario_runs.items():
        lines = esp_sa_lines(outdir, esn=False)  # tshark 4.0 has no ESN
        if not lines or name.endswith("-attack"):
            continue  # attacks: test_tshark_sees_the_attacks
        # ESP SAs whose cipher tshark carries and whose ICV it checks
        usable = [l for l in lines
                  if l.split('","')[4] in TSHARK_ENC and "no checking" not in l]
        spis = {l.split('","')[3] for l in usable}
        for pcap in outdir.glob("*.pcap"):
            if "enc0" in pcap.name or "pflog" in pcap.name:
                continue  # what enc0 and pf saw, not the wire
            for frame, spi, good, nh in tshark_esp(pcap, usable):
                if "0x%08x" % int(spi, 16) not in spis:
                    continue
                assert good == "1", f"{name}/{pcap.name} frame {frame}: ICV not good"
                # ICMP, IPv4, TCP (transport mode), UDP, AH, IPv6, ICMPv6,
                # no next header (the regress test's nonxt targets), IPv6
                # destination options, IPComp (a bundle)
                assert nh in ("0x01", "0x04", "0x06", "0x11", "0x33", "0x29", "0x3a",
                              "0x3b", "0x3c", "0x6c"), \
                    f"{pcap.name} {frame}: {nh}"
                checked[name] = checked.get(name, 0) + 1
    # Every ESP packet on the wire of these runs, one frame each (the demo's
    # fragmented ESP packet is one frame once reassembled by tshark).
    assert checked["demo"] == 122
    assert checked["esp-transport"] == 11
    assert checked["esp-ah-bundle"] == 6
    # SAs keyed by the key manager with seeded random keys, rekeyed and
    # replaced: every frame of every generation checks out.  keymgr-delete
    # and keymgr-retire count the frames dropped at gw2 for want of an SA.
    assert checked["keymgr-ondemand"] == 53
    assert checked["keymgr-rekey"] == 11602
    assert checked["keymgr-delete"] == 395
    assert checked["keymgr-retire"] == 1502
    assert checked["seq-rekey"] == 99
    # NAT-T: every ESP packet in UDP, on both sides of the NAT
    assert checked["natt-road-warrior"] == 2 * 85
    assert checked["natt-transport"] == 2 * 50
    # ESP behind IPv6 extension headers, and packets refused by policy
    # after an authentic ICV: tshark finds every one of them authentic.
    assert checked["ipv6-esp-exthdrs"] == 18
    assert checked["inpolicy-wrong-peer"] == 19
    assert checked["inpolicy-wrong-proto"] == 6


def scenario_pcap(scenario_runs, name, pcap):
    return rdpcap(str(scenario_runs[name] / pcap))


def test_scapy_verifies_ah_icvs(scenario_runs):
    sas = {0x3000: bytes.fromhex("0a" * 20), 0x3001: bytes.fromhex("0b" * 20)}
    n = 0
    for pkt in scenario_pcap(scenario_runs, "ah-transport", "l2.pcap"):
        if AH not in pkt:
            continue
        spi = pkt[AH].spi
        sa = SecurityAssociation(AH, spi=spi, auth_algo="HMAC-SHA1-96", auth_key=sas[spi])
        clear = sa.decrypt(pkt[IP])  # raises IPSecIntegrityError on a bad ICV
        assert clear.proto in (1, 17)
        n += 1
    assert n == 5  # 2 requests, 2 replies, 1 datagram


def test_scapy_verifies_ah_icvs_over_ipv6(scenario_runs):
    """AH behind hop-by-hop options, destination options and a routing
    header, after a router lowered the hop limit: scapy zeroes the mutable
    parts as we do.  On l2 the adversary changed a mutable option's data in
    the second request (still authentic) and an immutable option's data in
    the third (not)."""
    keys = {0x3000: bytes([1] * 20), 0x3001: bytes([2] * 20)}
    for link, want_bad in (("l1.pcap", []), ("l2.pcap", [3])):
        verdicts, n = [], 0
        for pkt in scenario_pcap(scenario_runs, "ipv6-ah-exthdrs", link):
            if AH not in pkt:
                continue
            spi = pkt[AH].spi
            sa = SecurityAssociation(AH, spi=spi, auth_algo="HMAC-SHA1-96", auth_key=keys[spi])
            if spi == 0x3000:
                n += 1
                ext = [type(layer).__name__ for layer in pkt[IPv6].iterpayloads()][1:4]
                assert ext == ["IPv6ExtHdrHopByHop", "IPv6ExtHdrDestOpt", "IPv6ExtHdrRouting"]
                assert pkt[IPv6].hlim == (64 if link == "l1.pcap" else 63)
            try:
                sa.decrypt(pkt[IPv6])
            except IPSecIntegrityError:
                verdicts.append(n)
        assert n == 4  # the four requests
        assert verdicts == want_bad


def ext_chain(pkt):
    """The layer names of an IPv6 packet behind its fixed header, up to and
    including the first that is not an extension header."""
    names = []
    for layer in pkt.iterpayloads():
        names.append(type(layer).__name__)
        if len(names) > 1 and not names[-1].startswith("IPv6ExtHdr"):
            break
    return names[1:]


def test_scapy_finds_esp_behind_ipv6_extension_headers(scenario_runs):
    """ipv6-esp-exthdrs: in transport mode ESP sits behind hop-by-hop
    options, destination options before a routing header, and the routing
    header, and carries destination options meant for the final
    destination; in tunnel mode the outer header has none and the inner
    packet keeps all of its own.  scapy decrypts each request to exactly
    that."""
    ak, ek = bytes([1] * 32), bytes([3] * 16)
    hbh, dst, rt = "IPv6ExtHdrHopByHop", "IPv6ExtHdrDestOpt", "IPv6ExtHdrRouting"
    echo = "ICMPv6EchoRequest"
    for link, spi, want_outer, want_inner in (
            ("l2.pcap", 0x6400,
             [[hbh, dst, rt, "ESP"]] * 2 + [[hbh, "ESP"]] * 2 + [["ESP"]],
             [[hbh, dst, rt, echo]] * 2 + [[hbh, dst, echo]] * 2 + [[dst, echo]]),
            ("l4.pcap", 0x6500, [["ESP"]] * 4,
             [["IPv6", hbh, dst, rt, echo]] * 2 + [["IPv6", hbh, dst, echo]] * 2)):
        sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=ek,
                                 auth_algo="SHA2-256-128", auth_key=ak)
        outer, inner = [], []
        for pkt in scenario_pcap(scenario_runs, "ipv6-esp-exthdrs", link):
            if IPv6 not in pkt or ESP not in pkt or pkt[ESP].spi != spi:
                continue
            outer.append(ext_chain(pkt[IPv6]))
            # decrypt raises unless the ICV is right; its bytes are parsed
            # again, since scapy 2.5 dissects a transport-mode payload by
            # the fixed header's next header, not the last extension's
            clear = IPv6(raw(sa.decrypt(pkt[IPv6])))
            chain = ext_chain(clear)
            if chain == ["IPv6"]:  # tunnel: the inner packet's own chain
                chain += ext_chain(clear.payload)
            inner.append(chain)
        assert outer == want_outer, link
        assert inner == want_inner, link
    # The refused option travelled inside ESP: type 0x9e, two data bytes.
    last = [p for p in scenario_pcap(scenario_runs, "ipv6-esp-exthdrs", "l2.pcap")
            if ESP in p and p[ESP].spi == 0x6400][-1]
    clear = SecurityAssociation(ESP, spi=0x6400, crypt_algo="AES-CBC", crypt_key=ek,
                                auth_algo="SHA2-256-128", auth_key=ak).decrypt(last[IPv6])
    opt = raw(clear)[40 + 2:40 + 6]
    assert opt == bytes([0x9e, 2, 0xa0, 0xa1])


def test_scapy_tampered_ah_fails(scenario_runs):
    pkt = next(p for p in scenario_pcap(scenario_runs, "ah-transport", "l2.pcap") if AH in p)
    sa = SecurityAssociation(AH, spi=0x3000, auth_algo="HMAC-SHA1-96",
                             auth_key=bytes.fromhex("0a" * 20))
    raw = bytearray(bytes(pkt[IP]))
    raw[-1] ^= 1
    with pytest.raises(Exception):
        sa.decrypt(IP(bytes(raw)))


def test_scapy_decrypts_esp_to_what_enc0_saw(scenario_runs):
    keys = {0x1000: (bytes.fromhex("03" * 16), bytes.fromhex("01" * 32)),
            0x1001: (bytes.fromhex("04" * 16), bytes.fromhex("02" * 32))}
    wire = [p for p in scenario_pcap(scenario_runs, "esp-transport", "l.pcap") if ESP in p]
    # b's enc0: each packet b received (decrypted), and b's replies before ESP
    enc = [bytes(p)[12:] for p in scenario_pcap(scenario_runs, "esp-transport", "b-enc0.pcap")]
    assert len(wire) == 11 and len(enc) == 11
    for pkt in wire:
        spi = pkt[ESP].spi
        ck, ak = keys[spi]
        sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=ck,
                                 auth_algo="SHA2-256-128", auth_key=ak)
        clear = sa.decrypt(pkt[IP])
        assert bytes(clear) in enc


def tcpdump(pcap):
    r = subprocess.run(["tcpdump", "-nr", str(pcap)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_tcpdump_reads_enc0(scenario_runs):
    esp = tcpdump(scenario_runs["esp-transport"] / "b-enc0.pcap")
    assert len(esp) == 11
    assert all("(authentic,confidential): SPI 0x0000100" in line for line in esp)
    ah = tcpdump(scenario_runs["ah-transport"] / "b-enc0.pcap")
    assert len(ah) == 5  # 3 in, 2 replies out
    assert all("(authentic): SPI 0x0000300" in line for line in ah)
    tun = tcpdump(scenario_runs["demo"] / "gw2-enc0.pcap")
    # tunnel mode: enc0 shows the outer and the inner header
    assert any("IP 192.0.2.1 > 198.51.100.1: IP 10.1.0.10 > 10.2.0.20: ICMP echo request"
               in line for line in tun)


def test_enc0_family_is_the_outer_headers(scenario_runs):
    """enc0's address family (host order, OpenBSD's AF_INET 2 and AF_INET6
    24) is the family of the packet it carries, the outer one in a tunnel:
    tcpdump reads every frame with the right header."""
    cases = [("ipv6-vpn", "gw1-enc0.pcap", 24,
              "IP6 2001:db8:ff01::1 > 2001:db8:ff02::1: IP6 2001:db8:1::10 > 2001:db8:2::20"),
             ("ipv6-4in6", "gw1-enc0.pcap", 24,
              "IP6 2001:db8:ff::1 > 2001:db8:ff::2: IP 10.1.0.10 > 10.2.0.20"),
             ("ipv6-6in4", "gw2-enc0.pcap", 2,
              "IP 192.0.2.1 > 192.0.2.2: IP6 2001:db8:1::10 > 2001:db8:2::20"),
             ("ipv6-transport", "b-enc0.pcap", 24, "IP6 2001:db8:1::1 > 2001:db8:1::2")]
    for name, pcap, af, text in cases:
        frames = [bytes(p) for p in scenario_pcap(scenario_runs, name, pcap)]
        assert frames and {int.from_bytes(f[:4], "little") for f in frames} == {af}, name
        assert {f[12] >> 4 for f in frames} == {6 if af == 24 else 4}, name
        lines = tcpdump(scenario_runs[name] / pcap)
        assert len(lines) == len(frames)
        assert any(text in line for line in lines), (name, lines[:3])


def test_6in4_outer_tos_follows_the_inner_traffic_class(scenario_runs):
    """RFC 6040 3.1 at tunnel ingress: the outer IPv4 TOS copies the inner
    IPv6 traffic class, CE turned into ECT(0); enc0 at the far end shows
    the inner class as it was sent."""
    wan = [p[IP] for p in scenario_pcap(scenario_runs, "ipv6-6in4", "wan.pcap")
           if IP in p and p[IP].src == "192.0.2.1" and p[IP].frag == 0]
    assert sorted((p.proto, p.tos) for p in wan) == [(50, 0x02)] * 3 + [(50, 0xb8)] * 4
    inner = [IPv6(bytes(p)[12 + 20:])
             for p in scenario_pcap(scenario_runs, "ipv6-6in4", "gw2-enc0.pcap")
             if bytes(p)[12 + 12:12 + 16] == bytes([192, 0, 2, 1])]
    assert sorted(p.tc for p in inner) == [0x03] * 3 + [0xb8] * 4


# Every algorithm pair scenario: scapy (or python-cryptography, for GMAC,
# which scapy lacks) decrypts and authenticates each ESP packet on the wire
# to exactly the bytes enc0 saw; tshark checks the ICVs of those it carries.
ALG_SCENARIOS = {
    # scenario: (scapy crypt_algo, scapy auth_algo) or None where scapy lacks one
    "alg-null-md5": ("NULL", "HMAC-MD5-96"),
    "alg-3des-sha1": ("3DES", "HMAC-SHA1-96"),
    "alg-blowfish-ripemd160": None,  # scapy has no HMAC-RIPEMD-160: tshark checks it
    "alg-cast128-sha384": ("CAST", "SHA2-384-192"),
    "alg-aes256-sha512": ("AES-CBC", "SHA2-512-256"),
    "alg-aes192-sha1": ("AES-CBC", "HMAC-SHA1-96"),
    "alg-aesctr-sha256": ("AES-CTR", "SHA2-256-128"),
    "alg-aes256gcm": ("AES-GCM", None),
    "alg-aes128gmac": None,  # checked with python-cryptography below
    "alg-chacha20poly1305": ("CHACHA20-POLY1305", None),
}


def scenario_keys(name):
    """The OUT:IN keys of an algorithm scenario, by SPI."""
    from conftest import ROOT
    text = (ROOT / "scenarios" / f"{name}.scn").read_text()
    words = text.split('KEYS="')[1].split('"')[0].split()
    keys = dict(zip(words[::2], words[1::2]))
    out = {}
    for i, spi in enumerate((0x1000, 0x1001)):
        ak, ek = keys.get("authkey"), keys.get("enckey")
        out[spi] = (bytes.fromhex(ek.split(":")[i][2:]) if ek else b"",
                    bytes.fromhex(ak.split(":")[i][2:]) if ak else None)
    return out


def enc0_packets(outdir):
    got = set()
    for node in ("a", "b"):
        for p in rdpcap(str(outdir / f"{node}-enc0.pcap")):
            got.add(bytes(p)[12:])
    return got


@pytest.mark.parametrize("name", sorted(ALG_SCENARIOS))
def test_algorithm_pairs_decrypt_independently(scenario_runs, name):
    outdir = scenario_runs[name]
    keys = scenario_keys(name)
    clear = enc0_packets(outdir)
    wire = [p for p in rdpcap(str(outdir / "l.pcap")) if ESP in p]
    assert len(wire) == 11
    algs = ALG_SCENARIOS[name]
    checked = 0
    for pkt in wire:
        spi = pkt[ESP].spi
        ek, ak = keys[spi]
        if algs:
            crypt, auth = algs
            sa = SecurityAssociation(ESP, spi=spi, crypt_algo=crypt, crypt_key=ek,
                                     auth_algo=auth, auth_key=ak)
            inner = bytes(sa.decrypt(pkt[IP]))
            assert inner in clear, f"{name}: SPI {spi:#x} seq {pkt[ESP].seq}"
            checked += 1
        elif name == "alg-aes128gmac":
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            esp = bytes(pkt[IP].payload)
            key, salt = ek[:-4], ek[-4:]
            iv, body, tag = esp[8:16], esp[16:-16], esp[-16:]
            # RFC 4543 3: AAD = SPI, sequence number, IV, payload; nothing encrypted
            calc = AESGCM(key).encrypt(salt + iv, b"", esp[:8] + iv + body)
            assert calc == tag, f"GMAC tag of seq {pkt[ESP].seq}"
            padlen, nh = body[-2], body[-1]
            ip = bytearray(bytes(pkt[IP]))
            inner = IP(bytes(ip[:20]) + body[:-2 - padlen])
            inner.proto, inner.len, inner.chksum = nh, None, None
            assert bytes(IP(bytes(inner))) in clear
            checked += 1
    lines = [l for l in esp_sa_lines(outdir) if l.split('","')[4] in TSHARK_ENC]
    tshark_good = sum(1 for _, _, good, _ in tshark_esp(outdir / "l.pcap", lines) if good == "1")
    if name in ("alg-chacha20poly1305", "alg-aes128gmac"):
        assert tshark_good == 0  # tshark 4.0 cannot check these
        assert checked == 11
    else:
        assert tshark_good == 11
        assert checked == (11 if algs else 0)


def test_scapy_checks_esn_across_2_32(scenario_runs):
    """The ICVs of esn-boundary cover the inferred high half: scapy, told
    the high half of each packet, verifies them; told the wrong one, fails."""
    outdir = scenario_runs["esn-boundary"]
    wire = [p for p in rdpcap(str(outdir / "l.pcap")) if ESP in p]
    assert [p[ESP].seq for p in wire] == [0xfffffffd, 0xfffffffe, 0xffffffff, 0, 1, 2]
    import hashlib
    import hmac
    import struct
    ck, ak = bytes.fromhex("03" * 16), bytes.fromhex("01" * 32)
    sa = SecurityAssociation(ESP, spi=0x4000, crypt_algo="AES-CBC", crypt_key=ck,
                             auth_algo="SHA2-256-128", auth_key=ak)
    for pkt in wire:
        hi = 1 if pkt[ESP].seq < 0x80000000 else 0
        esp = bytes(pkt[ESP])
        # RFC 4303 2.2.1: the high half follows the packet into the ICV
        # (scapy 2.5 leaves ESN out of non-AEAD ESP ICVs, so Python's hmac
        # checks them)
        for h, ok in ((hi, True), (hi ^ 1, False)):
            icv = hmac.new(ak, esp[:-16] + struct.pack("!L", h), hashlib.sha256).digest()[:16]
            assert (icv == esp[-16:]) == ok, f"seq {pkt[ESP].seq:#x} high half {h}"
        assert sa.decrypt(pkt[IP], verify=False).proto == 17


def test_tshark_sees_the_attacks(scenario_runs):
    """tshark, on its own, sees what the adversary did: the tampered ESP
    packet's ICV is bad (and only it), and the replayed packet breaks its
    sequence analysis."""
    outdir = scenario_runs["tamper-attack"]
    frames = tshark_esp(outdir / "l.pcap", esp_sa_lines(outdir))
    verdicts = [(int(spi, 16), good) for _, spi, good, _ in frames]
    # 5 ESP packets: the 2nd tampered in its ciphertext, the 4th in its SPI
    # (0x1000 ^ 0x80000000: no SA, so tshark cannot check it)
    assert verdicts == [(0x1000, "1"), (0x1000, "0"), (0x1000, "1"), (0x80001000, ""),
                        (0x1000, "1")]
    outdir = scenario_runs["replay-attack"]
    r = subprocess.run(["tshark", "-n", "-r", str(outdir / "l1.pcap"), "-Y",
                        "esp.sequence-analysis.wrong-sequence-number", "-T", "fields",
                        "-e", "esp.sequence"], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["2"]  # the replayed copy of sequence number 2


AH_SCENARIOS = {
    # scenario: (scapy auth_algo or None, hashlib name, ICV bytes, key length, ESN)
    "ah-md5-tunnel": ("HMAC-MD5-96", "md5", 12, 16, False),
    "ah-sha384-esn": ("SHA2-384-192", "sha384", 24, 48, True),
    "ah-sha512": ("SHA2-512-256", "sha512", 32, 64, False),
    "ah-ripemd160": (None, "ripemd160", 12, 20, False),
}


def ah_icv_by_hand(ip_bytes, key, digest, icvlen, esn_hi=None):
    """RFC 4302 3.3.3: the ICV over the IPv4 header with TOS, flags and
    offset, TTL and checksum zeroed (no options here), AH with the ICV
    zeroed, the payload, and with ESN the high half of the sequence."""
    import hmac
    import struct
    b = bytearray(ip_bytes)
    hl = (b[0] & 0x0F) * 4
    assert hl == 20
    b[1] = 0
    b[6:8] = b"\0\0"
    b[8] = 0
    b[10:12] = b"\0\0"
    b[hl + 12:hl + 12 + icvlen] = bytes(icvlen)
    msg = bytes(b) + (struct.pack("!L", esn_hi) if esn_hi is not None else b"")
    return hmac.new(key, msg, digest).digest()[:icvlen]


@pytest.mark.parametrize("name", sorted(AH_SCENARIOS))
def test_ah_algorithms_and_modes_verify_independently(scenario_runs, name):
    scapy_alg, digest, icvlen, klen, esn = AH_SCENARIOS[name]
    from conftest import ROOT
    text = (ROOT / "scenarios" / f"{name}.scn").read_text()
    out_key, in_key = text.split('AKEYS="')[1].split('"')[0].split(":")
    keys = {0x3000: bytes.fromhex(out_key[2:]), 0x3001: bytes.fromhex(in_key[2:])}
    assert all(len(k) == klen for k in keys.values())
    wire = [p for p in rdpcap(str(scenario_runs[name] / "l.pcap")) if AH in p]
    assert len(wire) == 6
    for pkt in wire:
        spi, raw_ip = pkt[AH].spi, bytes(pkt[IP])
        got = raw_ip[32:32 + icvlen]
        # Python's hmac over the massaged packet
        assert ah_icv_by_hand(raw_ip, keys[spi], digest, icvlen, 0 if esn else None) == got
        if esn:  # without the high half the ICV would differ
            assert ah_icv_by_hand(raw_ip, keys[spi], digest, icvlen) != got
        if scapy_alg:
            sa = SecurityAssociation(AH, spi=spi, auth_algo=scapy_alg, auth_key=keys[spi],
                                     esn_en=esn, esn=0)
            clear = sa.decrypt(pkt[IP])
            assert clear.proto == (4 if "tunnel" in name else 1)


def test_esp_padding_on_the_wire(scenario_runs):
    """RFC 4303 2.4, read where ESP leaves the payload visible (NULL
    encryption with HMAC-MD5-96): padding 1, 2, 3 ... to the 4-byte
    alignment, the pad length, next header 1 (ICMP) or 17 (UDP); and the
    sequence numbers of each SA run 1, 2, 3 ..."""
    wire = [p for p in rdpcap(str(scenario_runs["alg-null-md5"] / "l.pcap")) if ESP in p]
    seqs = {}
    for pkt in wire:
        esp = bytes(pkt[ESP])
        body = esp[8:-12]  # no IV; a 12-byte ICV
        assert len(body) % 4 == 0
        padlen, nh = body[-2], body[-1]
        assert nh in (1, 17)
        assert body[-2 - padlen:-2] == bytes(range(1, padlen + 1))
        # exactly the least padding: the payload + 2 trailer bytes rounded up to 4
        assert (len(body) - padlen - 2 + 2 + 3) // 4 * 4 == len(body)
        seqs.setdefault(pkt[ESP].spi, []).append(pkt[ESP].seq)
    assert seqs == {0x1000: list(range(1, 9)), 0x1001: [1, 2, 3]}
