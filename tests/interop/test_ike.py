"""The IKEv2 daemon (ike/, docs/ike.md), checked by independent parsers:
tshark decrypts and checks every IKE message of the IKE scenarios' captures
with the ikev2_decryption_table the run wrote, and the ESP of the
negotiated SAs with esp_sa; scapy's IKEv2 layer parses every message.
What each negotiation must show on the wire (notifies, groups,
retransmission times) is asserted frame by frame."""
import hashlib
import ipaddress
import re
import subprocess

import pytest
from scapy.all import UDP, rdpcap, wrpcap
from scapy.contrib.ikev2 import IKEv2

from conftest import ROOT, run

IKE_SCENARIOS = ["ike-tunnel", "ike-negotiation", "ike-rekey", "ike-dpd", "ike-natt", "ike-hub"]
PCAP = {"ike-hub": "lan.pcap"}


@pytest.fixture(scope="module")
def runs(ipsecsim, tmp_path_factory):
    out = {}
    for name in IKE_SCENARIOS:
        d = tmp_path_factory.mktemp(name) / "out"
        r = run(ipsecsim, "run", "-o", d, ROOT / "scenarios" / f"{name}.scn")
        assert r.returncode == 0, r.stdout + r.stderr
        out[name] = (d, r.stdout)
    return out


def tshark(d, *fields, filt="udp.port==500 && !icmp", esp=False, pcap="wan.pcap"):
    cmd = ["tshark", "-n", "-r", str(d / pcap)]
    for line in (d / "ikev2_decryption_table").read_text().splitlines():
        if not line.startswith("#"):
            cmd += ["-o", "uat:ikev2_decryption_table:" + line]
    if esp:
        cmd += ["-o", "esp.enable_encryption_decode:TRUE",
                "-o", "esp.enable_authentication_check:TRUE"]
        for line in (d / "esp_sa").read_text().splitlines():
            if line.startswith('"'):
                cmd += ["-o", "uat:esp_sa:" + line]
    cmd += ["-Y", filt, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [l.split("|") for l in r.stdout.splitlines()]


@pytest.mark.parametrize("name", IKE_SCENARIOS)
def test_tshark_decrypts_every_encrypted_message(runs, name):
    """Every message with an Encrypted payload decrypts with the run's
    table, and Wireshark finds its ICV correct (GCM's tag, or CBC's HMAC)."""
    d, _ = runs[name]
    pcap = PCAP.get(name, "wan.pcap")
    rows = tshark(d, "frame.number", "isakmp.enc.data", "isakmp.enc.decrypted",
                  "isakmp.enc.icd", filt="isakmp && !icmp", pcap=pcap)
    bad = tshark(d, "frame.number", filt="isakmp.ikev2.integrity_checksum || _ws.malformed",
                 pcap=pcap)
    assert bad == []
    sealed = [r for r in rows if r[1]]
    assert sealed, "no IKE_AUTH in the capture"
    for r in sealed:
        assert r[2] == "1" and r[3], f"frame {r[0]} not decrypted"


def test_tunnel_exchanges_on_the_wire(runs):
    """Two exchanges, four messages: IKE_SA_INIT with curve25519 and the
    IKE SA's GCM-256, then IKE_AUTH with the FQDN identities, PSK AUTH,
    the CHILD_SA's GCM-128 and the two sites as selectors."""
    d, _ = runs["ike-tunnel"]
    rows = tshark(d, "ip.src", "isakmp.exchangetype", "isakmp.flags", "isakmp.messageid",
                  "isakmp.key_exchange.dh_group", "isakmp.id.data.fqdn",
                  "isakmp.auth.method", "isakmp.ts.start_ipv4", "isakmp.ts.end_ipv4")
    assert rows == [
        ["192.0.2.1", "34", "0x08", "0x00000000", "31", "", "", "", ""],
        ["192.0.2.2", "34", "0x20", "0x00000000", "31", "", "", "", ""],
        ["192.0.2.1", "35", "0x08", "0x00000001", "", "gw1.example.net", "2",
         "10.1.0.0,10.2.0.0", "10.1.0.255,10.2.0.255"],
        ["192.0.2.2", "35", "0x20", "0x00000001", "", "gw2.example.net", "2",
         "10.1.0.0,10.2.0.0", "10.1.0.255,10.2.0.255"],
    ]
    _, out = runs["ike-tunnel"]
    # gw1's `lifetime 2h bytes 1G` on both of its SAs, as SADB_EXT_LIFETIME_HARD
    assert out.count("lifetime_hard: alloc 0 bytes 1073741824 add 7200 first 0") == 2
    props = tshark(d, "isakmp.prop.number", "isakmp.tf.id.encr", "isakmp.ike2.attr.key_length",
                   filt="isakmp.exchangetype==34 && isakmp.flags==0x20")
    assert props == [["1", "20", "256"]]


def test_negotiated_esp_decrypts(runs):
    """The tunnel's five pings each way are ESP whose ICV tshark checks
    with the esp_sa lines of the negotiated SAs."""
    d, _ = runs["ike-tunnel"]
    rows = tshark(d, "esp.spi", "esp.icv_good", "icmp.type", filt="esp", esp=True)
    assert len(rows) == 10
    assert {r[1] for r in rows} == {"1"}
    assert sorted(r[2] for r in rows) == ["0"] * 5 + ["8"] * 5


@pytest.mark.parametrize("name", IKE_SCENARIOS)
def test_scapy_parses_every_message(runs, name):
    """scapy's IKEv2 layer reads every IKE datagram whole: the header's
    length is the datagram's, and the payload chain ends where it does."""
    d, _ = runs[name]
    n = 0
    for p in rdpcap(str(d / PCAP.get(name, "wan.pcap"))):
        if UDP not in p:
            continue
        raw = bytes(p[UDP].payload)
        if p[UDP].dport == 500 or p[UDP].sport == 500:
            data = raw
        elif 4500 in (p[UDP].sport, p[UDP].dport) and len(raw) > 4 and raw[:4] == bytes(4):
            data = raw[4:]  # IKE behind the non-ESP marker
        else:
            continue
        ike = IKEv2(data)
        assert ike.version == 0x20
        assert ike.length == len(data)
        assert len(bytes(ike)) == ike.length
        n += 1
    assert n


NAT_DETECTION = {"16388", "16389"}


def notifies(d, src):
    """Each message's notifies from src but NAT_DETECTION_*_IP (which every
    IKE_SA_INIT carries; test_nat_detection_hashes checks those)."""
    rows = tshark(d, "isakmp.exchangetype", "isakmp.notify.msgtype", "isakmp.notify.data",
                  filt=f"udp.port==500 && !icmp && ip.src=={src} && isakmp.notify.msgtype")
    out = []
    for x, types, data in rows:
        kept = [(t, v) for t, v in zip(types.split(","), data.split(","))
                if t not in NAT_DETECTION]
        if kept:
            out.append([x, ",".join(t for t, _ in kept), ",".join(v for _, v in kept)])
    return out


def test_wrong_psk_is_refused_inside_ike_auth(runs):
    """b1 answers a1's IKE_AUTH with AUTHENTICATION_FAILED inside the
    Encrypted payload, and no ESP SA exists afterwards on either side."""
    d, out = runs["ike-negotiation"]
    assert notifies(d, "192.0.2.21") == [["35", "24", "<MISSING>"]]
    assert "b1: iked: policy1: authentication of 192.0.2.11 failed: the AUTH payload " \
           "does not match: a different pre-shared key: AUTHENTICATION_FAILED" in out
    assert "a1: iked: policy1: the peer answered IKE_AUTH with AUTHENTICATION_FAILED" in out


def test_no_proposal_is_answered_in_the_clear(runs):
    """b2's IKE_SA_INIT response is one notify, NO_PROPOSAL_CHOSEN, no SA."""
    d, _ = runs["ike-negotiation"]
    assert notifies(d, "192.0.2.22") == [["34", "14", "<MISSING>"]]


def test_invalid_ke_then_the_asked_group(runs):
    """b3 asks for group 14 (data 000e); a3's second IKE_SA_INIT carries a
    modp2048 KE of 256 bytes and puts group 14 first in its proposal."""
    d, _ = runs["ike-negotiation"]
    assert notifies(d, "192.0.2.23")[0] == ["34", "17", "000e"]
    rows = tshark(d, "isakmp.key_exchange.dh_group", "isakmp.payloadlength",
                  filt="udp.port==500 && !icmp && ip.src==192.0.2.13 && isakmp.exchangetype==34")
    assert [r[0] for r in rows] == ["31", "14"]
    groups = tshark(d, "isakmp.tf.id.dh", filt="udp.port==500 && !icmp && ip.src==192.0.2.13 "
                    "&& isakmp.key_exchange.dh_group==14")
    assert groups == [["14,31"]]


def test_retransmission_back_off(runs):
    """With nobody answering, a4 sends the same IKE_SA_INIT six times,
    2, 4, 8, 16 and 32 s apart, byte for byte (ARP makes the first 2 ms
    late), then gives up at 126 s."""
    d, out = runs["ike-negotiation"]
    msgs = [p for p in rdpcap(str(d / "wan.pcap"))
            if UDP in p and p[UDP].dport == 500 and p["IP"].src == "192.0.2.14"
            and p["IP"].proto == 17]
    assert [round(float(p.time) - float(msgs[0].time) + 0.002, 3) for p in msgs] == \
        [0.002, 2.0, 6.0, 14.0, 30.0, 62.0]
    assert len({bytes(p[UDP].payload) for p in msgs}) == 1
    assert "126.000000000 a4: iked: policy1: no answer from the peer after 5 " \
           "retransmissions: giving up" in out


def test_acquire_brings_up_a_cbc_ike_sa(runs):
    """a5's first ping asks for the SAs; the IKE SA is AES-CBC-128 with
    HMAC-SHA2-256-128 (tshark checks the HMAC), the CHILD_SA AES-256 with
    HMAC-SHA2-512, and three pings go through it.  60 s after the last
    ESP, each end checks the other is alive (an empty INFORMATIONAL):
    a5 sends its request and answers b5's."""
    d, out = runs["ike-negotiation"]
    rows = tshark(d, "frame.time_relative", "isakmp.exchangetype", "isakmp.enc.icd",
                  "isakmp.flags", filt="udp.port==500 && ip.src==192.0.2.15")
    assert [r[1] for r in rows] == ["34", "35", "37", "37"]
    assert [r[3] for r in rows[2:]] == ["0x08", "0x28"]
    assert [float(r[0]) for r in rows[2:]] == [121.006, 121.006]
    assert float(rows[0][0]) >= 1.0 and len(bytes.fromhex(rows[1][2])) == 16
    esp = tshark(d, "esp.icv_good", filt="esp && ip.src==192.0.2.15", esp=True)
    assert esp == [["1"]] * 3


BAD = """node a b
link l a=10.0.0.1/24 b=10.0.0.2/24
ikev2 a {
	ikev2 active esp from 10.0.0.1 to 10.0.0.2 bogus psk x
	ikev2 active esp from 10.0.0.1 to 10.0.0.2 ikesa enc aes-99 psk x
	ikev2 active esp from 10.0.0.1 to 10.0.0.2
	ikev2 active esp from 10.0.0.1 to 10.0.0.2 peer any psk x
	ikev2 esp from 10.0.0.1 to 10.0.0.2 ikesa enc aes-128 aes-128-gcm psk x
	ikev2 esp from 10.0.0.1 to 10.0.0.2 childsa enc aes-128-gcm auth hmac-sha1 psk x
	frobnicate
	ikev2 esp from 10.0.0.1 to 10.0.0.2 peer 10.0.0.2 lifetime 10x psk x
	ikev2 esp from 10.0.0.1 to 10.0.0.2 peer 10.0.0.2 lifetime 1h bytes 2T psk x
}
"""


def test_config_errors_all_reported(ipsecsim, tmp_path):
    """Every bad policy of a block is reported at its own line, and the
    run exits 2 without starting."""
    scn = tmp_path / "bad.scn"
    scn.write_text(BAD)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    p = str(scn)
    assert r.stderr.splitlines() == [
        f"{p}:4: unknown word 'bogus' in an ikev2 policy",
        f"{p}:5: ikesa enc: unknown or too many 'aes-99'; ipsecsim has aes-128, aes-192, "
        "aes-256, aes-128-gcm, aes-192-gcm, aes-256-gcm (childsa also chacha20-poly1305)",
        f"{p}:6: policy policy3: no peer (an address, or any for a passive policy)",
        f"{p}:7: policy policy4: peer any can only answer: make it passive",
        f"{p}:8: ikesa: AEAD ciphers (gcm, chacha20-poly1305) and aes-CBC go in separate "
        "ikesa clauses (RFC 5282 8)",
        f"{p}:9: childsa: an AEAD cipher authenticates by itself: no auth with it",
        f"{p}:10: unknown word 'frobnicate': an iked.conf statement is ikev2, set, include "
        "or NAME = value",
        f"{p}:11: lifetime: '10x' is not a time in seconds (or with s, m, h or d)",
        f"{p}:12: bytes: '2T' is not a number of bytes (or with K, M or G)",
    ]


PAIR = """node a b
link wan a=192.0.2.1/24 b=192.0.2.2/24 delay 1ms
capture wan wan.pcap
ikev2 a {
	ikev2 active esp transport from 192.0.2.1 to 192.0.2.2 \\
		ikesa enc aes-128 prf hmac-sha2-256 auth hmac-sha2-256 group ecp256 psk k
}
ikev2 b {
	ikev2 passive esp transport from 192.0.2.2 to 192.0.2.1 \\
		ikesa enc aes-128 prf hmac-sha2-256 auth hmac-sha2-256 group ecp256 psk k
}
end 5s
"""


def test_a_tampered_ike_auth_is_dropped_and_the_retransmission_taken(ipsecsim, tmp_path):
    """The IKE_AUTH request with one byte of its ciphertext flipped (the
    UDP checksum made good again, so that only IKE's HMAC can tell) is
    dropped by the responder for its ICV; a's retransmission 2 s later
    brings the SAs up. From the other side: the same message untouched is
    taken (the run without the attack)."""
    first = tmp_path / "first"
    first.mkdir()
    (first / "t.scn").write_text(PAIR)
    r = run(ipsecsim, "run", "-o", first / "out", first / "t.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    auth = [p for p in rdpcap(str(first / "out" / "wan.pcap"))
            if UDP in p and p[UDP].dport == 500 and p["IP"].src == "192.0.2.1"
            and p[IKEv2].exch_type == 35]
    assert len(auth) == 1
    bad = auth[0].copy()
    raw = bytearray(bytes(bad[UDP].payload))
    raw[60] ^= 0x01  # inside the ciphertext: header 28, SK header 4, IV 16
    bad[UDP].remove_payload()
    bad[UDP].add_payload(bytes(raw))
    del bad[UDP].chksum
    wrpcap(str(tmp_path / "bad.pcap"), [bad.__class__(bytes(bad))])
    text = PAIR.replace("end 5s", "drop wan from a udp port 500 2\n"
                        "at 100ms inject wan bad.pcap from a\n"
                        "end 5s\n"
                        "expect b ike dropped == 1\n"
                        "expect b ike established == 1\n"
                        "expect a ike retransmits == 1\n"
                        "expect a ike children == 1\n")
    (tmp_path / "t.scn").write_text(text)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", tmp_path / "t.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "b: iked: dropped a message from 192.0.2.1: the Encrypted payload's ICV " \
           "does not match" in r.stdout


def test_show_ike(runs):
    """show NODE ike prints the IKE SA and its CHILD_SA as ikectl show sa
    does, with iked.conf's algorithm names."""
    _, out = runs["ike-tunnel"]
    i = out.index("--- gw1: ikectl show sa at 3.000000000 s ---\n")
    assert out[i:].splitlines()[1:3] == [
        "iked_sas: 0xbe1df361af5ea22f rspi 0x8693bdce129c3b7d site1 initiator "
        "192.0.2.1->192.0.2.2 ESTABLISHED since 0.030000000 enc aes-256-gcm "
        "prf hmac-sha2-256 auth none group curve25519",
        "  childsa esp tunnel in 0xfa241344 out 0xb37bd2b5 enc aes-128-gcm auth none",
    ]


def test_ikev2_file_missing(ipsecsim, tmp_path):
    """ikev2 NODE file FILE: a file that is not there is named, relative to
    the scenario, and the run exits 2."""
    scn = tmp_path / "t.scn"
    scn.write_text("node a\nikev2 a file nosuch.conf\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr == f"{scn}:2: cannot open {tmp_path}/nosuch.conf: " \
                       "No such file or directory\n"


def hub_text(n_bad, n_good):
    """A hub answering any peer (`peer any`, selectors narrowed to each
    spoke) and spokes on one switch, each negotiating on demand when it
    pings the hub, a tenth of a second apart; the first n_bad with a
    wrong key."""
    n = n_bad + n_good
    spokes = " ".join(f"s{i}" for i in range(n))
    ends = " ".join(f"s{i}=192.0.2.{10 + i}/24" for i in range(n))
    t = [f"node hub {spokes}", f"switch lan hub=192.0.2.1/24 {ends} delay 1ms",
         "ikev2 hub {",
         "\tikev2 passive esp transport from 192.0.2.1 to any peer any psk good",
         "}"]
    for i in range(n):
        key = "bad" if i < n_bad else "good"
        t += [f"ikev2 s{i} quiet {{",
              f"\tikev2 acquire esp transport from 192.0.2.{10 + i} to 192.0.2.1 psk {key}",
              "}",
              f"at {1000 + 100 * i}ms ping s{i} 192.0.2.1 count 3 interval 1s quiet"]
    t.append(f"end {n + 5}s")
    return "\n".join(t) + "\n"


def test_a_hub_answers_any_peer_and_frees_failed_sas(ipsecsim, tmp_path):
    """20 spokes fail to authenticate to a `peer any` hub one after the
    other, then two succeed: the hub counts 20 failures, keeps (and
    shows) only the two live IKE SAs, and each good spoke's CHILD_SA is
    narrowed to the spoke and the hub: flows from 192.0.2.1/32."""
    scn = tmp_path / "hub.scn"
    scn.write_text(hub_text(20, 2) + "show hub ike\nshow hub flow\n"
                   "expect hub ike auth_failures == 20\n"
                   "expect hub ike established == 2\n"
                   "expect hub ike children == 2\n"
                   "expect s21 icmp.inhist.echoreply == 2\n"
                   "expect hub ipsec sas == 4\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    shown = r.stdout[r.stdout.index("ikectl show sa"):].splitlines()[1:]
    assert [l.split()[6] for l in shown if l.startswith("iked_sas:")] == \
        ["192.0.2.1->192.0.2.30", "192.0.2.1->192.0.2.31"]
    i = r.stdout.index("ipsecctl -s flow")
    assert r.stdout[i:].splitlines()[1:5] == [
        f"flow esp {d} from {a} to {b} local 192.0.2.1 peer {p} type require"
        for d, a, b, p in [("in", "192.0.2.30", "192.0.2.1", "192.0.2.30"),
                           ("in", "192.0.2.31", "192.0.2.1", "192.0.2.31"),
                           ("out", "192.0.2.1", "192.0.2.30", "192.0.2.30"),
                           ("out", "192.0.2.1", "192.0.2.31", "192.0.2.31")]]


# ---- rekeying, liveness, NAT traversal, cookies ----

def children(out, node):
    """The CHILD_SAs a node's daemon installed, in order: (in, out) SPIs."""
    return re.findall(rf"{node}: iked: \S+: CHILD_SA esp \w+(?: udpencap)? "
                      r"in 0x([0-9a-f]{8}) out 0x([0-9a-f]{8})", out)


def test_child_and_ike_rekeys_on_the_wire(runs):
    """gw1 rekeys its CHILD_SA at 90 % of 20 s each time (CREATE_CHILD_SA
    with REKEY_SA and a KE of ecp256 for PFS), and its IKE SA at 41 s and
    82 s (an IKE proposal with an 8-byte SPI, a KE of curve25519); after
    each it DELETEs what was replaced: the old CHILD_SA by its inbound SPI
    (gw2 answers with its own half), the old IKE SA with protocol 1.  The
    IKE SA's messages start over at ID 0 under the new SPIs, and the ESP
    of each direction uses each CHILD_SA's SPI in turn, 990 packets each
    way, every ICV good."""
    d, out = runs["ike-rekey"]
    rows = tshark(d, "frame.time_relative", "ip.src", "isakmp.ispi", "isakmp.exchangetype",
                  "isakmp.flags", "isakmp.messageid", "isakmp.notify.msgtype",
                  "isakmp.key_exchange.dh_group", "isakmp.prop.protoid", "isakmp.spisize",
                  "isakmp.delete.protoid", "isakmp.delete.spi",
                  filt="isakmp && (ip.src==192.0.2.1 || ip.src==192.0.2.2)")
    req = [r for r in rows if r[1] == "192.0.2.1" and r[4] == "0x08"]
    ccsa = [r for r in req if r[3] == "36"]
    assert [round(float(r[0]), 3) for r in ccsa] == [18.03, 36.04, 41.03, 54.05, 72.06,
                                                     82.04, 90.07]
    child_rk = [r for r in ccsa if r[6] == "16393"]
    ike_rk = [r for r in ccsa if r[6] != "16393"]
    assert len(child_rk) == 5 and len(ike_rk) == 2
    assert {(r[7], r[8]) for r in child_rk} == {("19", "3")}
    assert {(r[7], r[8], r[9]) for r in ike_rk} == {("31", "1,1", "8,8")}
    g1, g2 = children(out, "gw1"), children(out, "gw2")
    assert len(g1) == len(g2) == 6
    dels1 = [r[11] for r in rows if r[1] == "192.0.2.1" and r[10] == "3"]
    dels2 = [r[11] for r in rows if r[1] == "192.0.2.2" and r[10] == "3"]
    assert dels1 == [c[0] for c in g1[:5]]
    assert dels2 == [c[0] for c in g2[:5]]
    ike_dels = [r for r in rows if r[10] == "1"]
    spis = list(dict.fromkeys(r[2] for r in rows))  # gw1's three IKE SAs, in order
    table = [l.split(",")[0] for l in (d / "ikev2_decryption_table").read_text().splitlines()
             if not l.startswith("#")]
    assert len(spis) == 3 and set(spis) <= set(table)
    assert [r[2] for r in ike_dels] == spis[:2]
    # each IKE SA's requests from gw1 count from 0
    for ispi in spis:
        ids = [int(r[5], 16) for r in req if r[2] == ispi]
        assert ids == list(range(len(ids)))
    esp = tshark(d, "frame.time_relative", "ip.src", "esp.spi", "esp.icv_good",
                 filt="esp && (ip.src==192.0.2.1 || ip.src==192.0.2.2)", esp=True)
    assert {r[3] for r in esp} == {"1"}
    for src, mine in (("192.0.2.1", g1), ("192.0.2.2", g2)):
        spis = [int(r[2], 16) for r in esp if r[1].split(",")[0] == src]  # outer source
        assert len(spis) == 990
        used = list(dict.fromkeys(spis))
        assert used == [int(c[1], 16) for c in mine]


def test_a_responder_rekeys_and_the_initiator_takes_its_pfs_group(runs):
    """gw4 answered the IKE_SA_INIT, but its CHILD_SAs are the short-lived
    ones: its CREATE_CHILD_SA requests carry no I flag (0x00), a KE of
    modp2048, REKEY_SA and USE_TRANSPORT_MODE, and gw3 (no PFS group of
    its own) answers with the same group."""
    d, _ = runs["ike-rekey"]
    rows = tshark(d, "ip.src", "isakmp.exchangetype", "isakmp.flags",
                  "isakmp.key_exchange.dh_group", "isakmp.notify.msgtype",
                  filt="isakmp.exchangetype==36 && (ip.src==192.0.2.3 || ip.src==192.0.2.4)")
    assert len(rows) == 24
    assert {tuple(r) for r in rows[0::2]} == {("192.0.2.4", "36", "0x00", "14", "16393,16391")}
    assert {tuple(r) for r in rows[1::2]} == {("192.0.2.3", "36", "0x28", "14", "16391")}


def test_a_refused_rekey_runs_out_and_is_deleted(runs):
    """gw6 refuses gw5's rekey (their PFS groups differ) with
    NO_PROPOSAL_CHOSEN; at the hard limit gw5 announces its CHILD_SA's end
    in a DELETE, and the next ping starts a new IKE SA while the old one
    is deleted."""
    d, _ = runs["ike-rekey"]
    rows = tshark(d, "frame.time_relative", "ip.src", "isakmp.exchangetype", "isakmp.flags",
                  "isakmp.notify.msgtype", "isakmp.delete.protoid",
                  filt="isakmp && (ip.src==192.0.2.5 || ip.src==192.0.2.6)")
    got = [(round(float(r[0]), 3), r[1][-1], r[2], r[4], r[5]) for r in rows]
    assert got[4:12] == [
        (8.03, "5", "36", "16393,16391", ""), (8.035, "6", "36", "14", ""),
        (10.03, "5", "37", "", "3"), (10.035, "6", "37", "", "3"),
        (12.0, "5", "37", "", "1"), (12.0, "5", "34", "16388,16389", ""),
        (12.005, "6", "37", "", ""), (12.005, "6", "34", "16388,16389", "")]


def nat_hash(ispi, rspi, ip, port):
    return hashlib.sha1(bytes.fromhex(ispi) + bytes.fromhex(rspi) +
                        ipaddress.ip_address(ip).packed + port.to_bytes(2, "big")).hexdigest()


def nat_rows(d):
    """Each IKE_SA_INIT: addresses, ports, SPIs and the two NAT_DETECTION
    hashes, in the order sent."""
    rows = tshark(d, "ip.src", "udp.srcport", "ip.dst", "udp.dstport", "isakmp.ispi",
                  "isakmp.rspi", "isakmp.flags", "isakmp.notify.msgtype", "isakmp.notify.data",
                  filt="isakmp.exchangetype==34")
    out = []
    for r in rows:
        kinds = dict(zip(r[7].split(","), r[8].split(",")))
        out.append((r[0], int(r[1]), r[2], int(r[3]), r[4], r[5], r[6], kinds["16388"],
                    kinds["16389"]))
    return out


def test_nat_detection_hashes(runs):
    """Without a NAT, each side's NAT_DETECTION_SOURCE_IP is SHA-1(SPIi |
    SPIr | address | port) of where the message came from, and
    DESTINATION_IP of where it went (SPIr zero in the request).  Behind
    the home router, the laptop's source hash names 192.168.1.10:500
    while the gateway sees 198.51.100.2 and another port, and the
    gateway's destination hash names what it saw."""
    d, _ = runs["ike-tunnel"]
    for src, sport, dst, dport, i, r, flags, hs, hd in nat_rows(d):
        rs = "00" * 8 if flags == "0x08" else r
        assert hs == nat_hash(i, rs, src, sport) and hd == nat_hash(i, rs, dst, dport)
    d, _ = runs["ike-natt"]
    (src, sport, dst, dport, i, _, _, hs, hd), (gsrc, gsp, gdst, gdp, gi, gr, _, ghs, ghd) = \
        nat_rows(d)
    assert (src, dst, dport) == ("198.51.100.2", "192.0.2.1", 500) and sport != 500
    assert hs == nat_hash(i, "00" * 8, "192.168.1.10", 500)
    assert hs != nat_hash(i, "00" * 8, src, sport)
    assert hd == nat_hash(i, "00" * 8, dst, dport)
    assert ghs == nat_hash(gi, gr, gsrc, gsp)
    assert ghd == nat_hash(gi, gr, "198.51.100.2", sport)


def test_natt_moves_ike_and_esp_to_4500_with_keepalives(runs):
    """After IKE_SA_INIT on 500, IKE_AUTH goes laptop 4500 -> gateway 4500
    behind the non-ESP marker (the NAT gives it a port of its own), ESP
    goes in UDP on that same mapping both ways, and the laptop's two
    keepalives (one 0xFF byte, 20 s apart) keep it: the gateway's answers
    go to the NAT's port throughout."""
    d, _ = runs["ike-natt"]
    ps = [p for p in rdpcap(str(d / "wan.pcap")) if UDP in p]
    ike4500 = [p for p in ps if p[UDP].dport == 4500 and bytes(p[UDP].payload)[:4] == bytes(4)]
    assert [IKEv2(bytes(p[UDP].payload)[4:]).exch_type for p in ike4500] == [35]
    nat_port = ike4500[0][UDP].sport
    assert nat_port >= 50001
    back = [p for p in ps if p["IP"].src == "192.0.2.1"]
    assert {(p[UDP].sport, p[UDP].dport) for p in back} == {(500, ps[0][UDP].sport),
                                                           (4500, nat_port)}
    ka = [p for p in ps if p[UDP].len == 9 and bytes(p[UDP].payload)[:1] == b"\xff"]
    assert [(p[UDP].sport, p[UDP].dport) for p in ka] == [(nat_port, 4500)] * 2
    # 20 s after the laptop took the IKE_AUTH response (it crossed this
    # capture 11 ms before: 10 ms of WAN, 1 ms of home LAN; the keepalive
    # crosses it 1 ms after leaving), then 20 s later
    auth_back = [p for p in back if p[UDP].sport == 4500 and
                 bytes(p[UDP].payload)[:4] == bytes(4)][0]
    assert [round(float(p.time - auth_back.time), 3) for p in ka] == [20.012, 40.012]
    esp = tshark(d, "udp.srcport", "esp.icv_good", filt="esp", esp=True)
    assert esp and {tuple(r) for r in esp} == {(str(nat_port), "1"), ("4500", "1")}


def test_liveness_checks_and_a_dead_peer(runs):
    """gw1's liveness check is an INFORMATIONAL with nothing in its
    Encrypted payload (60 bytes with AES-GCM: header 28, SK header 4, IV 8,
    padding to 4 bytes with its length byte, ICV 16), sent 10 s after gw1
    last heard of gw2
    and then at 2, 4, 8, 16 and 32 s; gw1 gives up at 146 s and its
    `active` policy starts IKE_SA_INIT again, retransmitted until the WAN
    is back."""
    d, out = runs["ike-dpd"]
    rows = tshark(d, "frame.time_relative", "isakmp.exchangetype", "isakmp.length",
                  filt="isakmp && ip.src==192.0.2.1")
    info = [(round(float(r[0]), 3), r[2]) for r in rows if r[1] == "37"]
    assert info == [(t, "60") for t in (20.03, 22.03, 26.03, 34.03, 50.03, 82.03)]
    init = [round(float(r[0]), 3) for r in rows if r[1] == "34"]
    assert init == [0.01, 146.03, 148.03, 152.03]  # the first after ARP
    assert "146.030000000 gw1: iked: site1: CHILD_SA in " in out


def hub_cookie_text(extra=""):
    """Two spokes whose IKE_AUTH never arrives stay half-open at the hub
    (threshold 2); two more then ask at 1 s and get cookies."""
    t = ["node hub " + " ".join(f"s{i}" for i in range(1, 5)),
         "switch lan hub=192.0.2.1/24 " +
         " ".join(f"s{i}=192.0.2.{10 + i}/24" for i in range(1, 5)) + " delay 1ms",
         "capture lan lan.pcap",
         "ikev2 hub {", "\tset cookie_threshold 2",
         "\tikev2 passive esp transport from 192.0.2.1 to any peer any psk k", "}"]
    for i in range(1, 5):
        mode = "active" if i <= 2 else "acquire"
        t += [f"ikev2 s{i} quiet {{",
              f"\tikev2 {mode} esp transport from 192.0.2.{10 + i} to 192.0.2.1 "
              "peer 192.0.2.1 psk k", "}"]
    # ARP takes 2 ms, IKE_SA_INIT 2 more: IKE_AUTH leaves at 4 ms
    t += ["at 3500us impair lan from s1 loss 100%", "at 3500us impair lan from s2 loss 100%"]
    t += [f"at 1s ping s{i} 192.0.2.1 count 1 quiet" for i in (3, 4)]
    return "\n".join(t) + "\n" + extra + "end 301s\n"


def cookie_rows(d):
    return tshark(d, "frame.time_relative", "ip.src", "ip.dst", "isakmp.notify.msgtype",
                  "isakmp.notify.data", filt="isakmp.exchangetype==34 && isakmp.notify.msgtype",
                  pcap="lan.pcap")


def test_cookies_under_load(ipsecsim, tmp_path):
    """With two IKE SAs half-open the hub answers IKE_SA_INIT with a
    33-byte cookie (version 0) and keeps nothing; each spoke sends its
    IKE_SA_INIT again with that cookie as the first payload and is taken.
    The two half-open SAs go 300 s after their IKE_SA_INIT, and the
    spokes that never got an answer to IKE_AUTH give up."""
    scn = tmp_path / "c.scn"
    scn.write_text(hub_cookie_text("\n".join([
        "expect hub ike cookies == 2", "expect s3 ike cookies == 1",
        "expect s4 ike cookies == 1", "expect hub ike established == 2",
        "expect s3 ike established == 1", "expect s4 ike established == 1",
        "expect hub ike halfopen_expired == 2", "expect s1 ike timeouts == 1",
        "at 299s expect hub ike halfopen_expired == 0"]) + "\n"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = cookie_rows(tmp_path / "out")
    cookies = {dst: data for _, src, dst, types, data in rows
               if src == "192.0.2.1" and types == "16390"}
    assert sorted(cookies) == ["192.0.2.13", "192.0.2.14"]
    for spoke, data in cookies.items():
        assert len(bytes.fromhex(data)) == 33 and data.startswith("00")
        retry = [r for r in rows if r[1] == spoke]
        assert len(retry) == 2  # the first try, then the one with the cookie
        assert retry[1][3].split(",")[0] == "16390"
        assert retry[1][4].split(",")[0] == data


def test_a_wrong_cookie_gets_another_cookie(ipsecsim, tmp_path):
    """s3's retry, replaced on the wire by the same datagram with one bit
    of its cookie flipped (checksum made good), is answered with a cookie
    again, not with an IKE SA; s3 then retries with the cookie and is
    taken.  The unchanged datagram was taken in the first run."""
    first = tmp_path / "first"
    first.mkdir()
    (first / "c.scn").write_text(hub_cookie_text("expect hub ike cookies == 2\n"))
    r = run(ipsecsim, "run", "-o", first / "out", first / "c.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    retry = [p for p in rdpcap(str(first / "out" / "lan.pcap"))
             if UDP in p and p["IP"].src == "192.0.2.13" and p[UDP].dport == 500][1]
    t0 = float(rdpcap(str(first / "out" / "lan.pcap"))[0].time)
    raw = bytearray(bytes(retry[UDP].payload))
    assert raw[36] == 0 and bytes(raw[34:36]) == b"\x40\x06"  # N(COOKIE) data, version 0
    raw[40] ^= 0x01
    bad = retry.copy()
    bad[UDP].remove_payload()
    bad[UDP].add_payload(bytes(raw))
    del bad[UDP].chksum
    wrpcap(str(tmp_path / "bad.pcap"), [bad.__class__(bytes(bad))])
    at = round((float(retry.time) - t0) * 1e6) + 1  # after the one dropped
    (tmp_path / "c.scn").write_text(hub_cookie_text(
        f"drop lan from s3 udp port 500 2\nat {at}us inject lan bad.pcap from s3\n"
        "expect hub ike cookies == 3\nexpect s3 ike cookies == 2\n"
        "expect s3 ike established == 1\nexpect hub ike established == 2\n"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", tmp_path / "c.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.findall(r"(\d) half-open IKE SAs: a cookie for 192.0.2.13", r.stdout) == \
        ["2", "3"]  # the second time s4's retry is half-open too


def test_iked_conf_set_lines(ipsecsim, tmp_path):
    """`set dpd_check_interval` and `set cookie_threshold` are read; bad
    values and other settings are errors, every one reported."""
    scn = tmp_path / "s.scn"
    scn.write_text("node a\nikev2 a {\n\tset dpd_check_interval 2d\n"
                   "\tset cookie_threshold many\n\tset mobike yes\n\tset cookie_threshold\n}\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{scn}:3: set dpd_check_interval: '2d' is not a time up to 1d (0: none)",
        f"{scn}:4: set cookie_threshold: 'many' is not a count up to 65535 (0: never)",
        f"{scn}:5: set mobike: ipsecsim's daemon has set dpd_check_interval and set "
        "cookie_threshold",
        f"{scn}:6: usage: set dpd_check_interval TIME or set cookie_threshold N"]


def test_no_liveness_checks_when_turned_off(ipsecsim, tmp_path):
    """dpd_check_interval 0: gw1 and gw2 never check, so the dark WAN of
    ike-dpd.scn goes unnoticed and the SAs stay."""
    text = (ROOT / "scenarios" / "ike-dpd.scn").read_text()
    text = text.replace("set dpd_check_interval 10s", "set dpd_check_interval 0")
    text = re.sub(r"\nexpect .*|\nat 149s expect .*", "", text)
    scn = tmp_path / "d.scn"
    scn.write_text(text + "\nexpect gw1 ike liveness == 0\nexpect gw1 ike dead_peers == 0\n"
                   "expect gw1 ipsec sas == 2\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr


def test_at_impair_errors(ipsecsim, tmp_path):
    scn = tmp_path / "i.scn"
    scn.write_text("node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\n"
                   "at 1s impair nosuch loss 1%\nat 1s impair l loss\n"
                   "at 1s impair l from c loss 1%\nend 2s\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"{scn}:3: unknown link 'nosuch'",
                                     f"{scn}:4: usage: impair LINK [from NODE[.IFACE]] "
                                     "PARAM VALUE ...",
                                     f"{scn}:5: c is not attached to l"]


def test_ike_rekeys_at_once_then_one_after_the_other(ipsecsim, tmp_path):
    """Both ends rekey the IKE SA at the same moment (gw2's 19 s at 95 %
    and gw1's 20 s at 90 % fall together): each refuses the other's with
    TEMPORARY_FAILURE (RFC 7296 2.25), each tries again after a random 2
    to 5 s, and the first to go (gw2) makes the new IKE SA, whose
    initiator it is; not a ping is lost."""
    scn = tmp_path / "c.scn"
    scn.write_text("""node gw1 gw2
link wan gw1=192.0.2.1/24 gw2=192.0.2.2/24 delay 5ms
ikev2 gw1 {
	ikev2 "a" active esp transport from 192.0.2.1 to 192.0.2.2 ikelifetime 20s psk "k"
}
ikev2 gw2 {
	ikev2 "b" passive esp transport from 192.0.2.2 to 192.0.2.1 ikelifetime 19s psk "k"
}
at 1s ping gw1 192.0.2.2 count 30 interval 1s quiet as p
end 32s
show gw1 ike
expect p received == 30
expect gw1 ike ike_rekeys == 1
expect gw2 ike ike_rekeys == 1
expect gw1 ike ike_deletes == 1
""")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [l.split(": ", 2)[2] for l in r.stdout.splitlines() if ": iked: " in l]
    assert lines[5:9] == [
        "b: rekeying IKE SA 0xea542fa50703c8e1/0x12eeb1c561e5fc8e",
        "a: rekeying IKE SA 0xea542fa50703c8e1/0x12eeb1c561e5fc8e",
        "a: the peer's CREATE_CHILD_SA refused: TEMPORARY_FAILURE",
        "b: the peer's CREATE_CHILD_SA refused: TEMPORARY_FAILURE"]
    assert "iked_sas: 0xd5b86e4e485c9eb2 rspi 0x118432d105f1f30a a responder " in r.stdout
