"""The IKEv2 daemon (ike/, docs/ike.md), checked by independent parsers:
tshark decrypts and checks every IKE message of the IKE scenarios' captures
with the ikev2_decryption_table the run wrote, and the ESP of the
negotiated SAs with esp_sa; scapy's IKEv2 layer parses every message.
What each negotiation must show on the wire (notifies, groups,
retransmission times) is asserted frame by frame."""
import subprocess

import pytest
from scapy.all import UDP, rdpcap, wrpcap
from scapy.contrib.ikev2 import IKEv2

from conftest import ROOT, run

IKE_SCENARIOS = ["ike-tunnel", "ike-negotiation"]


@pytest.fixture(scope="module")
def runs(ipsecsim, tmp_path_factory):
    out = {}
    for name in IKE_SCENARIOS:
        d = tmp_path_factory.mktemp(name) / "out"
        r = run(ipsecsim, "run", "-o", d, ROOT / "scenarios" / f"{name}.scn")
        assert r.returncode == 0, r.stdout + r.stderr
        out[name] = (d, r.stdout)
    return out


def tshark(d, *fields, filt="udp.port==500 && !icmp", esp=False):
    cmd = ["tshark", "-n", "-r", str(d / "wan.pcap")]
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
    rows = tshark(d, "frame.number", "isakmp.enc.data", "isakmp.enc.decrypted",
                  "isakmp.enc.icd")
    bad = tshark(d, "frame.number", filt="isakmp.ikev2.integrity_checksum || _ws.malformed")
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
    msgs = [p for p in rdpcap(str(d / "wan.pcap"))
            if UDP in p and p[UDP].sport == 500 and p[UDP].dport == 500]
    assert msgs
    for p in msgs:
        ike = p[IKEv2]
        assert ike.version == 0x20
        assert ike.length == len(p[UDP].payload)
        assert len(bytes(ike)) == ike.length


def notifies(d, src):
    return tshark(d, "isakmp.exchangetype", "isakmp.notify.msgtype", "isakmp.notify.data",
                  filt=f"udp.port==500 && !icmp && ip.src=={src} && isakmp.notify.msgtype")


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
    HMAC-SHA2-512, and three pings go through it."""
    d, out = runs["ike-negotiation"]
    rows = tshark(d, "frame.time_relative", "isakmp.exchangetype", "isakmp.enc.icd",
                  filt="udp.port==500 && ip.src==192.0.2.15")
    assert [r[1] for r in rows] == ["34", "35"]
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
        f"{p}:10: unknown word 'frobnicate': an iked.conf statement is ikev2, include or "
        "NAME = value",
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
