"""The live bridge (issue 25): a simulated gateway negotiates IKEv2 with a
real strongSwan across an `external` link endpoint, a TAP device in a
network namespace where charon runs with its user-space ESP
(kernel-libipsec, which sends ESP in UDP 4500: it makes charon's
NAT_DETECTION say there is a NAT, which our daemon then finds).

Our daemon initiates, rekeys the IKE SA at 5 s and 10 s and the CHILD_SA
(with PFS, ecp256) at 6 s, over the first new IKE SA (so that its keys,
from the old SK_d and a new DH, are put to use); h1 behind it pings strongSwan's inner address twice a second,
and strongSwan pings h1 back at 10 s.  The scenario's own attacks work on
the real peer's traffic: strongSwan's 5th datagram on port 4500 (the reply
to the 4th ping) is dropped, its 3rd replayed at 4 s (our gateway counts
esp.replay); our gateway's 6th (the 5th ping) is tampered with, and
strongSwan refuses it (its log).  Both ends' counters are asserted: ours by
the scenario's expectations, strongSwan's by `swanctl --list-sas` against
the capture; strongSwan holding exactly our newest IKE SA and CHILD_SA
proves it derived the same keys for both rekeys, and tshark decrypts every
IKE message of both sides with the run's table."""
import os
import re
import signal
import subprocess
import time

import pytest

import strongswan as ss
from conftest import ROOT, run

why = ss.unavailable()

PSK = "a-real-peer-shares-this"
TAP = "iss0"
SIM_OUTER, SS_OUTER, SS_INNER, LAN = "192.0.2.1", "192.0.2.2", "203.0.113.1", "10.1.0.0/24"

SCENARIO = f"""\
node h1 gw ss
link lan h1=10.1.0.10/24 gw.em0=10.1.0.1/24 delay 100us
link wan gw.em1={SIM_OUTER}/24 ss= delay 1ms
external ss tap {TAP}
sysctl gw net.inet.ip.forwarding=1
route h1 default via 10.1.0.1
route gw {SS_INNER}/32 via {SS_OUTER}
capture wan wan.pcap
ikev2 gw {{
	ikev2 "real" active esp from {LAN} to {SS_INNER} peer {SS_OUTER} \\
		ikesa enc aes-128-gcm prf hmac-sha2-256 group curve25519 \\
		childsa enc aes-128-gcm group ecp256 ikelifetime 7s lifetime 8s \\
		srcid sim.example dstid strongswan.example psk "{PSK}"
}}
at 1s ping h1 {SS_INNER} count 18 interval 500ms quiet as out
drop wan from ss udp port 4500 5
tamper wan from gw udp port 4500 6 offset 60
at 4s replay wan from ss udp port 4500 3
end 12s
show gw ike
expect out received == 16
expect gw ike established == 1
expect gw ike nat_detected == 1
expect gw ike child_rekeys == 1
expect gw ike ike_rekeys == 2
expect gw ike dropped == 0
expect gw esp.replay == 1
expect wan link.tampered == 1
expect wan link.attackdrop == 1
expect wan link.replayed == 1
expect h1 icmp.inhist.echoreply == 16
expect h1 icmp.outhist.echoreply == 3
"""


class Charon:
    """One charon in a namespace whose TAP device the simulation holds."""

    def __init__(self, base):
        self.base = base
        self.ns = f"issx-{os.getpid()}"
        self.procs = []

    def __enter__(self):
        try:
            sh = ss.sh
            sh("ip", "netns", "add", self.ns)
            for cmd in (["ip", "tuntap", "add", "dev", TAP, "mode", "tap"],
                        ["ip", "addr", "add", f"{SS_OUTER}/24", "dev", TAP],
                        ["ip", "addr", "add", f"{SS_INNER}/32", "dev", "lo"],
                        ["ip", "link", "set", "lo", "up"],
                        ["ip", "link", "set", TAP, "up"]):
                sh("ip", "netns", "exec", self.ns, *cmd)
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        return False

    def _start(self):
        d = self.base
        (d / "strongswan.conf").write_text(f"""\
charon {{
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf curve25519 gmp kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  filelog {{
    log {{
      path = {d}/charon.log
      default = 1
      ike = 2
      chd = 2
      flush_line = yes
    }}
  }}
  plugins {{
    vici {{
      socket = unix://{d}/charon.vici
    }}
  }}
}}
""")
        (d / "swanctl.conf").write_text(f"""\
connections {{
  sim {{
    version = 2
    local_addrs = {SS_OUTER}
    remote_addrs = {SIM_OUTER}
    proposals = aes128gcm16-prfsha256-x25519
    rekey_time = 1h
    mobike = no
    local {{
      auth = psk
      id = strongswan.example
    }}
    remote {{
      auth = psk
      id = sim.example
    }}
    children {{
      c {{
        local_ts = {SS_INNER}/32
        remote_ts = {LAN}
        esp_proposals = aes128gcm16-ecp256
        rekey_time = 1h
        mode = tunnel
      }}
    }}
  }}
}}
secrets {{
  ike-1 {{
    id = sim.example
    secret = "{PSK}"
  }}
}}
""")
        ss.start_charon(self.ns, d, self.procs)
        self.swanctl("--load-all", "--file", str(d / "swanctl.conf"))

    def run(self, *args, check=True):
        return ss.sh("ip", "netns", "exec", self.ns, *args, check=check)

    def swanctl(self, *args):
        return self.run("swanctl", *args, "--uri", f"unix://{self.base}/charon.vici")

    def sas(self):
        """(IKE SPIi, SPIr) and the CHILD_SAs' (spi-in, spi-out, bytes-in,
        packets-in, bytes-out, packets-out), from --list-sas --raw."""
        out = self.swanctl("--list-sas", "--raw").stdout
        ike = re.findall(r"initiator-spi=([0-9a-f]{16}) responder-spi=([0-9a-f]{16})", out)
        children = [tuple(int(x, 16) for x in m[:2]) + tuple(int(x) for x in m[2:])
                    for m in re.findall(r"spi-in=([0-9a-f]+) spi-out=([0-9a-f]+).*?"
                                        r"bytes-in=(\d+) packets-in=(\d+).*?"
                                        r"bytes-out=(\d+) packets-out=(\d+)", out)]
        return ike, children


@pytest.mark.skipif(why is not None, reason=why or "")
def test_live_ikev2_with_strongswan(ipsecsim, tmp_path):
    ssdir = tmp_path / "charon"
    ssdir.mkdir()
    (tmp_path / "live.scn").write_text(SCENARIO)
    with Charon(ssdir) as c:
        sim = subprocess.Popen(["ip", "netns", "exec", c.ns, str(ipsecsim), "run", "-o",
                                str(tmp_path / "out"), "--junit", str(tmp_path / "junit.xml"),
                                "--report", str(tmp_path / "report.html"),
                                str(tmp_path / "live.scn")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        c.procs.append(sim)
        time.sleep(10)  # the virtual clock is the wall's: strongSwan pings at 10 s
        ping = c.run("ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", SS_INNER, "10.1.0.10",
                     check=False)
        out, err = sim.communicate(timeout=60)
        assert sim.returncode == 0, out + err
        assert "3 received" in ping.stdout, ping.stdout + ping.stderr
        assert ("note: external endpoint ss on TAP iss0: this run follows the wall clock and "
                "is not deterministic") in out
        ike, children = c.sas()
    # the JUnit file (valid for Jenkins and GitLab) and the report say it too
    from lxml import etree
    schema = etree.XMLSchema(etree.parse(str(ROOT / "tests" / "interop" / "junit.xsd")))
    schema.assertValid(etree.parse(str(tmp_path / "junit.xml")))
    junit = (tmp_path / "junit.xml").read_text()
    assert ('<property name="deterministic" value="false"/>\n'
            '      <property name="external" value="ss on TAP iss0"/>') in junit
    assert ("<p>External endpoint ss on TAP iss0: this run followed the wall clock and is not "
            "deterministic.</p>") in (tmp_path / "report.html").read_text()
    # strongSwan holds exactly our newest IKE SA (from the IKE rekey) and
    # our CHILD_SA (from the CHILD_SA rekey): the same keys on both sides
    table = [l.split(",")[:2] for l in (tmp_path / "out" / "ikev2_decryption_table")
             .read_text().splitlines() if not l.startswith("#")]
    assert len(table) == 3
    assert ike == [tuple(table[2])]
    ours = re.findall(r"childsa esp tunnel in 0x([0-9a-f]{8}) out 0x([0-9a-f]{8})", out)
    assert len(ours) == 1 and len(children) == 1
    spi_in, spi_out = (int(x, 16) for x in ours[0])
    assert children[0][:2] == (spi_out, spi_in)
    # strongSwan's counters of that CHILD_SA against the wire: what it
    # received is what our gateway sent with its SPI, and the reverse
    from scapy.all import UDP, rdpcap
    frames = [p for p in rdpcap(str(tmp_path / "out" / "wan.pcap"))
              if UDP in p and 4500 in (p[UDP].sport, p[UDP].dport)
              and len(bytes(p[UDP].payload)) > 8 and bytes(p[UDP].payload)[:4] != bytes(4)]
    spi = lambda p: int.from_bytes(bytes(p[UDP].payload)[:4], "big")
    to_ss = [p for p in frames if p["IP"].dst == SS_OUTER and spi(p) == spi_out]
    from_ss = [p for p in frames if p["IP"].src == SS_OUTER and spi(p) == spi_in]
    assert children[0][3] == len(to_ss) > 0
    assert children[0][5] == len(from_ss) > 0
    # strongSwan refused the one packet tampered with
    log = (ssdir / "charon.log").read_text()
    assert log.count("ESP decryption or ICV verification failed") == 1
    # every IKE message, strongSwan's too, decrypts with the run's table
    cmd = ["tshark", "-n", "-r", str(tmp_path / "out" / "wan.pcap")]
    for line in (tmp_path / "out" / "ikev2_decryption_table").read_text().splitlines():
        if not line.startswith("#"):
            cmd += ["-o", "uat:ikev2_decryption_table:" + line]
    r = subprocess.run(cmd + ["-Y", "isakmp.enc.data", "-T", "fields", "-e", "ip.src", "-e",
                              "isakmp.enc.decrypted"], capture_output=True, text=True,
                       timeout=120)
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert {src for src, _ in rows} == {SIM_OUTER, SS_OUTER}
    assert {ok for _, ok in rows} == {"1"}


def test_external_statement_errors(ipsecsim, tmp_path):
    """Every misuse of `external` is reported with its line, before any
    TAP is touched (the node's address, its interfaces, the end, the
    name's length)."""
    scn = tmp_path / "x.scn"
    scn.write_text("node a b c d\n"
                   "link l a=10.0.0.1/24 b=10.0.0.2/24\n"
                   "link m a.em2=10.1.0.1/24 c=\n"
                   "external b tap t0\n"
                   "external d tap t0\n"
                   "external c tap a-name-longer-than-15\n"
                   "external c\n"
                   "external nosuch tap t0\n"
                   "end 1s\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{scn}:4: external b: the real host has its own addresses; give b= no address",
        f"{scn}:5: external d: the node must have exactly one interface, on a link (write the "
        "link first: link NAME ... d= ...)",
        f"{scn}:6: external c: TAP name 'a-name-longer-than-15' is longer than 15 characters",
        f"{scn}:7: usage: external NODE tap DEVICE",
        f"{scn}:8: unknown node 'nosuch'"]
    scn.write_text("node a c\nlink m a=10.1.0.1/24 c=\nexternal c tap t0\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr == (f"{scn}:3: external c: a run that follows the wall clock needs an end "
                        "(end TIME)\n")
