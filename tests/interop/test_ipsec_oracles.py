"""Independent implementations check the data path of the shipped scenarios:
tshark decrypts every ESP packet with the esp_sa file the run wrote and
checks its ICV, scapy verifies AH ICVs and decrypts ESP to exactly what
enc0 saw, and tcpdump reads the enc0 captures as OpenBSD's tcpdump does."""
import subprocess

import pytest
from scapy.all import IP, Ether, rdpcap
from scapy.layers.ipsec import AH, ESP, SecurityAssociation

TSHARK_ENC = {"NULL", "TripleDES-CBC [RFC2451]", "AES-CBC [RFC3602]", "AES-CTR [RFC3686]",
              "CAST5-CBC [RFC2144]", "BLOWFISH-CBC [RFC2451]",
              "AES-GCM with 16 octet ICV [RFC4106]"}  # tshark 4.0 has no ChaCha20


def esp_sa_lines(outdir):
    path = outdir / "esp_sa"
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.startswith('"')]


def tshark_esp(pcap, sa_lines):
    args = ["tshark", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for line in sa_lines:
        args += ["-o", "uat:esp_sa:" + line]
    args += ["-Y", "esp", "-T", "fields", "-e", "frame.number", "-e", "esp.spi",
             "-e", "esp.icv_good", "-e", "esp.protocol"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


def test_tshark_checks_every_esp_icv(scenario_runs):
    checked = {}
    for name, outdir in scenario_runs.items():
        lines = esp_sa_lines(outdir)
        if not lines:
            continue
        usable = [l for l in lines if l.split('","')[4] in TSHARK_ENC]
        spis = {l.split('","')[3] for l in usable}
        for pcap in outdir.glob("*.pcap"):
            if "enc0" in pcap.name:
                continue
            for frame, spi, good, nh in tshark_esp(pcap, usable):
                if "0x%08x" % int(spi, 16) not in spis:
                    continue
                assert good == "1", f"{name}/{pcap.name} frame {frame}: ICV not good"
                assert nh in ("0x01", "0x04", "0x11", "0x33"), f"{pcap.name} {frame}: {nh}"
                checked[name] = checked.get(name, 0) + 1
    # Every ESP packet on the wire of these runs, one frame each (the demo's
    # fragmented ESP packet is one frame once reassembled by tshark).
    assert checked["demo"] == 122
    assert checked["esp-transport"] == 11
    assert checked["esp-ah-bundle"] == 6


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
