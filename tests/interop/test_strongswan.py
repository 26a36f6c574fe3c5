"""ipsecsim against a real IPsec stack: strongSwan 5.9 with its user-space
ESP (kernel-libipsec) in two network namespaces (issue 21).

Direction 1, strongSwan to ipsecsim: verify passes every ESP packet on the
wire, and decap writes exactly the packets strongSwan's TUN device carried.
Direction 2, ipsecsim to strongSwan: encap protects new packets with the
negotiated SA, and strongSwan takes them (its TUN device and its SA's
counters).  Attacks: a replayed packet, a flipped ciphertext bit and a wrong
SPI, injected on the wire, are refused by strongSwan, and verify's verdicts
on them agree (replay, badauth, notdb)."""
import json

import pytest
from scapy.all import ICMP, IP, UDP, Raw, rdpcap, wrpcap

import strongswan as ss
from conftest import run

PROPOSALS = list(ss.ESP)
why = ss.unavailable()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


def esp_frames(pcap):
    """The ESP-in-UDP packets of a veth capture, as IP packets."""
    return [p[IP] for p in rdpcap(str(pcap)) if IP in p and UDP in p and p[UDP].dport == 4500
            and bytes(p[UDP].payload)[:4] != b"\0\0\0\0"]


def ip_frames(pcap):
    """The IP packets of a capture (a TUN device's, or anything), as bytes."""
    try:
        return [bytes(x[IP]) for x in rdpcap(str(pcap)) if IP in x]
    except Exception:  # cut short while tcpdump writes it
        return []


def total(counters):
    """Packets in and out over every CHILD_SA of one side."""
    return sum(c[1] + c[3] for c in counters.values())


@pytest.mark.parametrize("proposal", PROPOSALS)
def test_strongswan(ipsecsim, tmp_path, proposal):
    with ss.Peers(tmp_path, proposal) as p:
        veth = tmp_path / "veth.pcap"
        tun = tmp_path / "tun.pcap"
        cap_w = p.capture("a", p.veth["a"], veth)
        cap_t = p.capture("b", "ipsec0", tun)
        keys = p.up()
        # pings of several sizes from a, UDP both ways
        for size in (56, 500, 1200):
            p.run("a", "ping", "-c", "2", "-i", "0.2", "-s", str(size), "-I", ss.A_INNER,
                  ss.B_INNER)
        p.run("a", "bash", "-c", f"echo from-a > /dev/udp/{ss.B_INNER}/9")
        p.run("b", "bash", "-c", f"echo from-b > /dev/udp/{ss.A_INNER}/9")
        # every packet strongSwan counted, on the wire and on b's TUN
        n = lambda: total(p.sa_counters("a"))
        p.stop(cap_w, lambda: n() >= 14 and len(esp_frames(veth)) == n())
        p.stop(cap_t, lambda: len(ip_frames(tun)) == total(p.sa_counters("b")))
        sa = tmp_path / "esp_sa"
        p.esp_sa(sa)

        # ---- direction 1: strongSwan's packets through verify and decap
        wire = esp_frames(veth)
        assert len(wire) >= 14
        r = run(ipsecsim, "verify", "-q", "--sa", sa, veth)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f": {len(wire)} ESP/AH packets, {len(wire)} ok, 0 not ok" in r.stdout
        inner = tmp_path / "inner.pcap"
        r = run(ipsecsim, "decap", "--sa", sa, veth, inner)
        assert r.returncode == 0, r.stderr
        # in the order of each direction: across directions the wire and
        # the TUN may see them in other orders (b answers while a's last
        # packet is still in charon)
        for src in (ss.A_INNER, ss.B_INNER):
            assert [bytes(x) for x in rdpcap(str(inner)) if x[IP].src == src] == \
                [bytes(x[IP]) for x in rdpcap(str(tun)) if IP in x and x[IP].src == src]

        # ---- direction 2: ipsecsim's packets into strongSwan
        spi_out = keys["out"][0]
        used = max(int.from_bytes(bytes(x[UDP].payload)[4:8], "big") for x in wire
                   if int.from_bytes(bytes(x[UDP].payload)[:4], "big") == spi_out)
        mine = [IP(src=ss.A_INNER, dst=ss.B_INNER, id=7000 + i) / ICMP(id=0x1551, seq=i) /
                Raw(f"ipsecsim encap {i}".encode()) for i in range(5)]
        clear = tmp_path / "clear.pcap"
        wrpcap(str(clear), mine)
        prot = tmp_path / "prot.pcap"
        r = run(ipsecsim, "encap", "--sa", sa, "--spi", hex(spi_out), "--mode", "tunnel",
                "--seq", str(used + 1), "--udpencap", clear, prot)
        assert r.returncode == 0, r.stderr
        before = p.sa_counters("b")
        tun2 = tmp_path / "tun2.pcap"
        cap_t = p.capture("b", "ipsec0", tun2)
        inject(p, prot)
        taken = lambda: p.sa_counters("b")[spi_out][1] - before[spi_out][1]
        p.stop(cap_t, lambda: taken() >= len(mine) and len(ip_frames(tun2)) >= 2 * len(mine))
        after = p.sa_counters("b")
        # (the TUN may carry the kernel's own IPv6, an MLD report: not ours)
        got = [bytes(x[IP]) for x in rdpcap(str(tun2)) if IP in x and x[IP].dst == ss.B_INNER]
        assert got == [bytes(m) for m in mine]
        # strongSwan's SA counters: the packets, and their bytes (libipsec
        # counts the inner packets)
        assert after[spi_out][1] - before[spi_out][1] == len(mine)
        assert after[spi_out][0] - before[spi_out][0] == sum(len(bytes(m)) for m in mine)

        # ---- attacks: a packet sent again, and two fresh ones (sequence
        # numbers not seen yet), one with a ciphertext bit flipped and one
        # with another SPI; then a good one, which strongSwan takes after
        # them: refused, all three, and verify says why
        sent = [IP(bytes(x)) for x in rdpcap(str(prot))]
        fresh = tmp_path / "fresh.pcap"
        r = run(ipsecsim, "encap", "--sa", sa, "--spi", hex(spi_out), "--mode", "tunnel",
                "--seq", str(used + 1 + len(mine)), "--udpencap", clear, fresh)
        assert r.returncode == 0, r.stderr
        new = [bytearray(bytes(x)) for x in rdpcap(str(fresh))]
        new[0][20 + 8 + 8 + 16 + 2] ^= 0x01  # past IP, UDP, ESP and the longest IV
        new[1][28:32] = (spi_out ^ 0x5a5a5a5a).to_bytes(4, "big")
        bad = [sent[0], IP(bytes(new[0])), IP(bytes(new[1]))]
        sentinel = IP(bytes(new[2]))
        attacks = tmp_path / "attacks.pcap"
        wrpcap(str(attacks), bad + [sentinel])
        before = p.sa_counters("b")
        tun3 = tmp_path / "tun3.pcap"
        cap_t = p.capture("b", "ipsec0", tun3)
        inject(p, attacks)
        taken = lambda: p.sa_counters("b")[spi_out][1] - before[spi_out][1]
        p.stop(cap_t, lambda: taken() >= 1 and len(ip_frames(tun3)) >= 2)
        assert taken() == 1
        got = [x for x in ip_frames(tun3) if IP(x).dst == ss.B_INNER]
        assert got == [bytes(mine[2])]
        history = tmp_path / "history.pcap"
        wrpcap(str(history), sent + bad + [sentinel])
        r = run(ipsecsim, "verify", "--json", "--sa", sa, history)
        verdicts = [json.loads(x)["verdict"] for x in r.stdout.splitlines()]
        assert verdicts == ["ok"] * len(sent) + ["replay", "badauth", "notdb", "ok"]


def inject(p, pcap):
    """Send the IP packets of pcap from a's namespace, as a raw socket does."""
    script = ("import sys\nfrom scapy.all import rdpcap, send, IP\n"
              "for x in rdpcap(sys.argv[1]):\n    send(IP(bytes(x)), verbose=False)\n")
    p.run("a", "/usr/bin/python3", "-c", script, str(pcap))
