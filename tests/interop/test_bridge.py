"""bridge(4) and EtherIP, with and without IPsec (scenarios/bridge-vpn.scn,
docs/bridge.md): learning, flooding, aging, the table's cap, the frames a
bridge refuses, loops refused at load, and what the wire shows."""
import collections
import subprocess

import pytest
from scapy.all import IP, Ether, Raw, wrpcap

from conftest import ROOT, run


def run_text(ipsecsim, tmp_path, text):
    scn = tmp_path / "t.scn"
    scn.write_text(text)
    return run(ipsecsim, "run", "-o", tmp_path / "out", scn)


def tshark(pcap, *args, sa=None):
    cmd = ["tshark", "-n", "-r", str(pcap)]
    if sa:
        cmd += ["-o", "esp.enable_encryption_decode:TRUE",
                "-o", "esp.enable_authentication_check:TRUE"]
        for line in sa.read_text().splitlines():
            if line.startswith('"'):
                cmd += ["-o", "uat:esp_sa:" + line]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def vpn(ipsecsim, tmp_path_factory):
    out = tmp_path_factory.mktemp("bridge") / "out"
    r = run(ipsecsim, "run", "-o", out, ROOT / "scenarios" / "bridge-vpn.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_the_wan_carries_only_esp(vpn):
    """Every IP packet on the WAN is ESP, every ICV good; decrypted, the
    hosts' packets are in the tunnel and ARP and ND in EtherIP."""
    protos = tshark(vpn / "wan1.pcap", "-Y", "ip", "-T", "fields", "-e", "ip.proto").split()
    assert protos == ["50"] * 30
    rows = tshark(vpn / "wan1.pcap", "-Y", "esp", "-T", "fields", "-e", "esp.icv_good",
                  "-e", "etherip.ver", "-e", "_ws.col.Protocol", sa=vpn / "esp_sa")
    seen = collections.Counter(tuple(l.split("\t")) for l in rows.splitlines())
    assert seen == {("1", "", "ICMP"): 10, ("1", "", "ICMPv6"): 6, ("1", "", "UDP"): 10,
                    ("1", "3", "ARP"): 2, ("1", "3", "ICMPv6"): 2}


def test_frames_keep_their_hosts_macs(vpn):
    """On the far LAN, h1's packets carry h1's MAC as their source, as on
    its own LAN, though they crossed the WAN as IP in ESP."""
    h1 = tshark(vpn / "lan1.pcap", "-Y", "arp.opcode==1", "-T", "fields",
                "-e", "eth.src").split()[0]
    h2 = tshark(vpn / "lan2.pcap", "-Y", "arp.opcode==2", "-T", "fields",
                "-e", "eth.src").split()[0]
    rows = tshark(vpn / "lan2.pcap", "-Y", "ip.src==10.0.0.10 || ipv6.src==2001:db8::10",
                  "-T", "fields", "-e", "eth.src", "-e", "eth.dst").splitlines()
    assert len(rows) == 3 + 3 + 5 + 2 + 1  # pings, datagrams, h2's pings answered, NS
    assert {tuple(r.split("\t")) for r in rows} <= {(h1, h2), (h1, "33:33:ff:00:01:30")}


def test_enc0_shows_what_the_bridge_protected(vpn):
    out = subprocess.run(["tcpdump", "-nr", str(vpn / "b1-enc0.pcap")], capture_output=True,
                         text=True, timeout=60).stdout
    assert out.count("SPI 0x00001000: IP 192.0.2.1 > 198.51.100.2: IP 10.0.0.10 > 10.0.0.130: "
                     "ICMP echo request") == 3
    assert out.count("SPI 0x00001001: IP 198.51.100.2 > 192.0.2.1: IP 10.0.0.130 > 10.0.0.10: "
                     "ICMP echo request") == 2
    assert out.count("SPI 0x00001000: IP 192.0.2.1 > 198.51.100.2: IP 192.0.2.1 > "
                     "198.51.100.2:  ip-proto-97") == 2


LANS = """\
node a b c d br
switch sw1 a=10.0.0.1/24 d=10.0.0.4/24 br.em0= delay 100us
link l2 b=10.0.0.2/24 br.em1= delay 100us
link l3 c=10.0.0.3/24 br.em2= delay 100us
bridge br br0 em0 em1 em2 {opts}
{extra}
end 5s
"""


def test_learning_and_flooding(ipsecsim, tmp_path):
    """ARP broadcasts flood (to em1 and em2); once both ends are learned,
    a's pings to b and b's answers each leave by one member.  a -> d stays
    on sw1: the switch learned d, and the bridge sees only a's broadcast."""
    text = LANS.format(opts="", extra="""\
at 1s ping a 10.0.0.2 count 3 interval 100ms quiet
at 2s ping a 10.0.0.4 count 1 quiet
expect a icmp.inhist.echoreply == 4
expect br bridge.ipackets == 9
expect br bridge.flooded == 2
expect br bridge.opackets == 11
expect c arp.rxrequests == 2
expect c icmp.inhist.echo == 0
show br bridge
""")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr
    table = r.stdout.split("ifconfig bridge addr at 5.000000000 s ---\n")[1].split("ok ")[0]
    lines = table.splitlines()
    assert lines[0] == "br0: members em0 em1 em2"
    assert sorted(l.split()[1] for l in lines[1:]) == ["em0", "em1"]


@pytest.mark.parametrize("opts,flooded", [("", 1), ("timeout 1s", 2), ("timeout 3s", 1)])
def test_entries_age_out(ipsecsim, tmp_path, opts, flooded):
    """b is forgotten once it has been silent for the timeout: with 1 s,
    between two pings 2 s apart, so the second request floods again (a
    still has b in its ARP cache); with the default 240 s or 3 s, not."""
    text = LANS.format(opts=opts, extra=f"""\
at 1s ping a 10.0.0.2 count 1 quiet
at 3s ping a 10.0.0.2 count 1 quiet
expect a icmp.inhist.echoreply == 2
expect a arp.txrequests == 1
expect br bridge.flooded == {flooded}
""")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_full_table_learns_no_more(ipsecsim, tmp_path):
    """maxaddr 1: a, the first source, is learned; b's three frames are
    counted in bridge.tablefull, and the requests to b flooded (with the
    ARP broadcast, three floods); traffic still flows."""
    text = LANS.format(opts="maxaddr 1", extra="""\
at 1s ping a 10.0.0.2 count 2 interval 100ms quiet
expect a icmp.inhist.echoreply == 2
expect br bridge.tablefull == 3
expect br bridge.flooded == 3
""")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_frame_for_its_own_member_stops(ipsecsim, tmp_path):
    """A frame for a MAC learned behind the member it arrived on goes
    nowhere (bridge.sameport); the same frame from another member is
    forwarded."""
    pcap, pcap2 = tmp_path / "a.pcap", tmp_path / "b.pcap"
    x, y = "02:00:00:00:00:77", "02:00:00:00:00:88"
    wrpcap(str(pcap), [Ether(src=x, dst="ff:ff:ff:ff:ff:ff", type=0x88b5) / Raw(b"x" * 50),
                       Ether(src=y, dst=x, type=0x88b5) / Raw(b"y" * 50)])
    wrpcap(str(pcap2), [Ether(src=y, dst=x, type=0x88b5) / Raw(b"z" * 50)])
    text = LANS.format(opts="", extra=f"""\
at 1s inject l2 {pcap} from b
at 2s inject l3 {pcap2} from c
expect br bridge.sameport == 1
expect br bridge.flooded == 1
expect br bridge.opackets == 3
expect b ether.notforus == 1
""")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reserved_destinations_are_not_forwarded(ipsecsim, tmp_path):
    """A frame to 01:80:c2:00:00:0e (LLDP) stops at the bridge; one to
    01:80:c2:00:00:10 is flooded as any group address."""
    pcap = tmp_path / "f.pcap"
    src = "02:00:00:00:00:99"
    wrpcap(str(pcap), [Ether(src=src, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"x" * 50),
                       Ether(src=src, dst="01:80:c2:00:00:10", type=0x88cc) / Raw(b"y" * 50)])
    text = LANS.format(opts="", extra=f"""\
at 1s inject l2 {pcap} from b
expect br bridge.reserved == 1
expect br bridge.flooded == 1
expect c ether.noproto == 1
""")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


ETHERIP = """\
node x y z
link l1 x=192.0.2.1/24 y=192.0.2.2/24
link l2 z=192.0.2.3/24 y.em1=192.0.2.4/24
link lan y.em2= x.em9=10.0.0.1/24
bridge y br0 em2 etherip:192.0.2.1
end 2s
at 1s inject l1 {pcap} from x
at 1s inject l2 {pcap2} from z
expect y etherip.ipackets == 3
expect y etherip.hdrops == 2
expect y etherip.noifdrops == 1
expect y bridge.ipackets == 0
"""


def test_etherip_header_and_peer_checked(ipsecsim, tmp_path):
    """EtherIP must say version 3 with the reserved bits clear, and come
    from a peer the node has an EtherIP member to."""
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff", type=0x0800) /
                  Raw(b"z" * 46))
    def pkt(src, dst, hdr):
        return Ether(src="02:00:00:00:00:aa", dst="ff:ff:ff:ff:ff:ff") / \
            IP(src=src, dst=dst, proto=97) / Raw(hdr + frame)
    pcap, pcap2 = tmp_path / "a.pcap", tmp_path / "b.pcap"
    wrpcap(str(pcap), [pkt("192.0.2.1", "192.0.2.2", b"\x20\x00"),
                       pkt("192.0.2.1", "192.0.2.2", b"\x30\x01")])
    wrpcap(str(pcap2), [pkt("192.0.2.3", "192.0.2.4", b"\x30\x00")])
    r = run_text(ipsecsim, tmp_path, ETHERIP.format(pcap=pcap, pcap2=pcap2))
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("lines,message", [
    ("bridge br br0 em0 em1\nbridge br br1 em2 em1",
     "br.em1 is a member of a bridge already"),
    ("bridge br br0 em0 em1\nbridge c br0 eth0 eth1",
     "eth0 and eth1 are joined already (one segment, or other bridges): this bridge would "
     "close a loop, and no spanning tree runs here"),
    ("bridge br br0 em2 em3", "em2 and em3 are joined already (one segment, or other "
     "bridges): this bridge would close a loop, and no spanning tree runs here"),
    ("bridge br br0 em0 em5", "br.em5 has addresses; a bridge member carries none (give the "
     "node its address on another interface)"),
    ("bridge br br0 em0 em9", "br has no interface 'em9'; usage: bridge NODE NAME MEMBER... "
     "[ipsec] [maxaddr N] [timeout T]; a MEMBER is an interface of NODE or etherip:ADDR"),
    ("bridge br br0 em0 etherip:10.9.9.9 etherip:10.9.9.9",
     "br has an EtherIP member to 10.9.9.9 already"),
    ("bridge br br0 em0 etherip:10.0.5.1", "etherip:10.0.5.1 is br's own address: the peer "
     "is another node"),
    ("bridge br br0 em0 etherip:nowhere", "bad EtherIP peer 'nowhere' (etherip:ADDR, a "
     "unicast address of another node)"),
    ("bridge br br0 em0 timeout 0s", "bad value '0s' for timeout: a time with its unit, ns, "
     "us, ms, s, m or h, written right after the number (such as 1.5s, 250ms or 10m), at "
     "most 18446744073.709551615s"),
    ("bridge br br0 ipsec", "a bridge needs members; usage: bridge NODE NAME MEMBER... "
     "[ipsec] [maxaddr N] [timeout T]; a MEMBER is an interface of NODE or etherip:ADDR"),
], ids=["member-twice", "loop-by-two-bridges", "loop-one-segment", "member-with-address",
        "no-such-interface", "etherip-twice", "etherip-to-self", "etherip-bad-peer",
        "timeout-zero", "no-members"])
def test_bridge_statement_errors(ipsecsim, tmp_path, lines, message):
    text = """\
node a b br c
switch s1 a=10.0.0.1/24 br.em0= c.eth0=
switch s2 b=10.0.0.2/24 br.em1= c.eth1=
link l3 br.em2= br.em3=
link l5 br.em5=10.0.5.1/24 b.em5=10.0.5.2/24
end 1s
""" + lines + "\n"
    scn = tmp_path / "t.scn"
    scn.write_text(text)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2, r.stdout
    n = len(text.splitlines())
    assert r.stderr == f"{scn}:{n}: {message}\n"


@pytest.mark.parametrize("src,nomac,inpolicy", [("10.0.0.50", 1, 0), ("10.0.0.70", 0, 1)])
def test_what_the_far_bridge_refuses(ipsecsim, tmp_path, vpn, src, nomac, inpolicy):
    """Spoofed packets from lan1 to h2 that b1 puts in the tunnel: one from
    a source whose MAC b2 never saw cannot get its Ethernet header back
    (bridge.nomac); one from 10.0.0.70, which a flow of b2 wants from
    another peer, fails the input policy first.  h2's MAC is the one the
    first run's capture shows."""
    h2 = tshark(vpn / "lan2.pcap", "-Y", "arp.opcode==2", "-T", "fields",
                "-e", "eth.src").split()[0]
    pcap = tmp_path / "spoof.pcap"
    wrpcap(str(pcap), [Ether(src="02:00:00:00:00:50", dst=h2) /
                       IP(src=src, dst="10.0.0.130", proto=17) / Raw(b"\0" * 30)])
    text = (ROOT / "scenarios" / "bridge-vpn.scn").read_text()
    text = text.replace("end 4s\n", f"at 3s inject lan1 {pcap} from h1\nend 4s\n")
    text = text.replace("ipsec b2 {\n", "ipsec b2 {\n\tflow esp in from 10.0.0.64/26 to "
                        "10.0.0.128/25 local 198.51.100.2 peer 203.0.113.9\n")
    text = text.replace("expect b2 bridge.nomac == 0", f"expect b2 bridge.nomac == {nomac}")
    text = text.replace("expect b2 ipsec.inpolicy == 0",
                        f"expect b2 ipsec.inpolicy == {inpolicy}")
    text = text.replace("expect b1 bridge.ipsec == 13", "expect b1 bridge.ipsec == 14")
    text = text.replace("expect wan1 link.sent == 32", "expect wan1 link.sent == 33")
    text = text.replace("expect b1 esp.output == 15", "expect b1 esp.output == 16")
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr
