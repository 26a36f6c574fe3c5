"""Per-socket IPsec levels (ipsec(4) "API Details"): setsockopt's errnos,
the node's defaults, what each level does to a socket's packets out and
in (scenarios/socket-levels.scn, docs/pfkey.md)."""
import subprocess

import pytest

from conftest import ROOT, run

INCLUDE = ROOT / "scenarios" / "include"


def run_text(ipsecsim, tmp_path, text):
    scn = tmp_path / "t.scn"
    scn.write_text(text)
    return run(ipsecsim, "run", "-o", tmp_path / "out", scn)


def frames(out, flt):
    """Frames of the LAN capture that tshark's filter matches, ESP
    decrypted with the run's keys."""
    args = ["tshark", "-n", "-r", out / "lan.pcap",
            "-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for line in (out / "esp_sa").read_text().splitlines():
        if line.startswith('"'):
            args += ["-o", "uat:esp_sa:" + line]
    r = subprocess.run([*map(str, args), "-Y", flt, "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return len(r.stdout.split())


def test_the_wire_shows_what_each_socket_asked(ipsecsim, tmp_path):
    """c1's datagrams and SYNs in the clear (and refused); nothing of c2's
    in the clear, its datagrams and connection inside ESP; gw1's IKE
    datagrams in the clear under a require flow, its other traffic in ESP."""
    r = run(ipsecsim, "run", "-o", tmp_path / "out", ROOT / "scenarios" / "socket-levels.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    assert frames(out, "ip.src==192.0.2.21 && udp.dstport==9 && !esp") == 3
    assert frames(out, "ip.src==192.0.2.21 && tcp.flags.syn==1 && !esp") == 3
    assert frames(out, "ip.addr==192.0.2.22 && (udp || tcp) && !esp") == 0
    assert frames(out, "ip.src==192.0.2.22 && esp && udp.dstport==9") == 5 - 1
    assert frames(out, "ip.src==192.0.2.10 && esp && tcp.flags.syn==1 && tcp.flags.ack==1") == 1
    assert frames(out, "ip.src==192.0.2.1 && !esp && udp.dstport==500") == 2
    assert frames(out, "ip.src==192.0.2.1 && !esp && udp.dstport==501") == 4
    assert frames(out, "ip.src==192.0.2.1 && esp && udp.dstport==9") == 3
    assert frames(out, "ip.src==192.0.2.1 && esp && udp.dstport==500") == 1
    assert frames(out, "esp.icv_good==0") == 0


SOCKOPT = """\
node b
{extra}
listen b udp 9
at 1s setsockopt b udp 9 {args} as x
end 2s
expect setsockopt x errno == {errno}
"""


@pytest.mark.parametrize("extra,args,errno,line", [
    ("", "IP_ESP_TRANS_LEVEL require", "0",
     "ok (auth avail, esp-trans require, esp-network avail, ipcomp avail)"),
    ("", "IPV6_ESP_NETWORK_LEVEL unique unprivileged", "0",
     "ok (auth avail, esp-trans avail, esp-network unique, ipcomp avail)"),
    ("", "IP_AUTH_LEVEL bypass", "0",
     "ok (auth bypass, esp-trans avail, esp-network avail, ipcomp avail)"),
    ("", "IP_IPCOMP_LEVEL 5", "EINVAL", "EINVAL (Invalid argument)"),
    ("", "IP_ESP_TRANS_LEVEL -1", "EINVAL", "EINVAL (Invalid argument)"),
    ("", "IP_ESP_TRANS_LEVEL use len 2", "EINVAL", "EINVAL (Invalid argument)"),
    ("", "IP_ESP_TRANS_LEVEL use len 8", "EINVAL", "EINVAL (Invalid argument)"),
    ("", "IP_ESP_TRANS_LEVEL use len 0", "EINVAL", "EINVAL (Invalid argument)"),
    ("", "IP_AUTH_LEVEL bypass unprivileged", "EACCES", "EACCES (Permission denied)"),
    ("sysctl b net.inet.ip.ipsec-esp-trans-level=3", "IP_ESP_TRANS_LEVEL use unprivileged",
     "EACCES", "EACCES (Permission denied)"),
    ("sysctl b net.inet.ip.ipsec-esp-trans-level=3", "IP_ESP_TRANS_LEVEL use", "0",
     "ok (auth avail, esp-trans use, esp-network avail, ipcomp avail)"),
    ("sysctl b net.inet.ip.ipsec-esp-trans-level=3", "IP_ESP_TRANS_LEVEL unique unprivileged",
     "0", "ok (auth avail, esp-trans unique, esp-network avail, ipcomp avail)"),
    ("", "23 1", "ENOPROTOOPT", "ENOPROTOOPT (Protocol not available)"),
], ids=["require", "v6-name-unprivileged-up", "root-bypass", "above-4", "negative", "short",
        "long", "empty", "unprivileged-bypass", "unprivileged-below-default",
        "root-below-default", "unprivileged-above-default", "other-option"])
def test_setsockopt_answers_as_ip_ctloutput(ipsecsim, tmp_path, extra, args, errno, line):
    r = run_text(ipsecsim, tmp_path, SOCKOPT.format(extra=extra, args=args, errno=errno))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f" b: setsockopt udp 9 " in r.stdout and f": {line}\n" in r.stdout, r.stdout


SERVER = """\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24 delay 1ms
{sysctl}
listen b udp 9 {levels}
{keying}
at 1s udp a 192.0.2.2:9 size 50 count 4 interval 10ms quiet {client}
end 2s
expect b udp 9 packets == {taken}
expect b udp.nosec == {refused}
"""
KM = """\
ipsec a {{
	flow {proto} from 192.0.2.1 to 192.0.2.2
}}
keymgr a
keymgr a sa b {proto} {mode} start
keymgr b
keymgr b sa a {proto} {mode}
"""


@pytest.mark.parametrize("levels,sysctl,proto,mode,taken,refused", [
    ("esp-trans require", "", None, None, 0, 4),
    ("esp-trans use", "", None, None, 4, 0),
    ("esp-trans unique", "", None, None, 0, 4),
    ("", "sysctl b net.inet.ip.ipsec-esp-trans-level=3", None, None, 0, 4),
    ("esp-trans require", "", "esp", "transport", 4, 0),
    ("esp-trans require", "", "ah", "transport", 0, 4),
    ("esp-network require", "", "esp", "transport", 0, 4),
    ("esp-network require", "", "esp", "tunnel", 4, 0),
    ("auth require", "", "ah", "transport", 4, 0),
    ("auth require", "", "esp", "transport", 4, 0),
    ("auth require", "", None, None, 0, 4),
], ids=["require-clear", "use-clear", "unique-clear", "default-require-clear",
        "require-esp", "require-esp-gets-ah", "network-gets-transport", "network-gets-tunnel",
        "auth-gets-ah", "auth-gets-esp-with-icv", "auth-clear"])
def test_what_a_server_takes(ipsecsim, tmp_path, levels, sysctl, proto, mode, taken, refused):
    """A server socket's levels against what arrives: cleartext, ESP in
    transport or tunnel mode, AH (the key managers key the pair at 0 s)."""
    keying = KM.format(proto=proto, mode=mode) if proto else ""
    text = SERVER.format(sysctl=sysctl, levels=levels, keying=keying, client="",
                         taken=taken, refused=refused)
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("client,keymgr,taken,acquiring,nosa", [
    ("esp-trans require", True, 3, 1, 0),
    ("esp-trans use", True, 3, 1, 0),
    ("esp-trans require", False, 0, 0, 4),
    ("esp-network require", True, 3, 1, 0),
    ("auth use", True, 3, 1, 0),
], ids=["require", "use", "nobody-to-ask", "network", "auth"])
def test_what_a_client_sends(ipsecsim, tmp_path, client, keymgr, taken, acquiring, nosa):
    """A client socket's levels with no flow on its node: the first datagram
    ACQUIREs an SA of the protocol asked for to the destination and is
    dropped; the rest go through it.  With no key manager: ipsec.nosa."""
    proto = "ah" if client.startswith("auth") else "esp"
    mode = "tunnel" if "network" in client else "transport"
    keying = ""
    if keymgr:
        keying = (f"keymgr a delay 5ms\nkeymgr a sa b {proto} {mode}\n"
                  f"keymgr b\nkeymgr b sa a {proto} {mode}\n")
    field = client.split()[0]
    text = SERVER.format(sysctl="", levels=f"{field} require", keying=keying,
                         client=client, taken=taken, refused=0)
    text += f"expect a ipsec.acquiring == {acquiring}\nexpect a ipsec.nosa == {nosa}\n"
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


def test_bypass_only_towards_the_flows_gateway(ipsecsim, tmp_path):
    """A BYPASS socket skips a flow only for packets to the flow's gateway
    (ipsp_spd_lookup's direct match): to a host behind the peer its
    datagrams still go in the tunnel."""
    text = f"""\
include {INCLUDE}/four-lans.inc
K="enc aes-128-gcm enckey 0x0102030405060708090a0b0c0d0e0f1011121314:0x1102030405060708090a0b0c0d0e0f1011121314"
ipsec gw1 {{
	flow esp from 192.0.2.1 to 10.2.1.0/24 peer 192.0.2.2
	flow esp from 192.0.2.1 to 192.0.2.2
	esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x100:0x101 $K
}}
ipsec gw2 {{
	flow esp from 10.2.1.0/24 to 192.0.2.1 peer 192.0.2.1
	esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x100:0x101 $K
}}
listen gw2 udp 500
at 1s udp gw1:500 10.2.1.20:9 count 2 interval 10ms quiet auth bypass esp-trans bypass esp-network bypass
at 1s udp gw1:501 192.0.2.2:500 count 3 interval 10ms quiet auth bypass esp-trans bypass esp-network bypass
end 2s
expect h2a udp 9 packets == 2
expect gw1 esp.output == 2
expect gw2 udp 500 packets == 3
"""
    r = run_text(ipsecsim, tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("line,message", [
    ("listen b udp 9 esp-trans maybe",
     "bad level 'maybe' for esp-trans: bypass, avail, use, require or unique (0 to 4)"),
    ("listen b udp 9 esp-trans", "'esp-trans' needs a level: bypass, avail, use, require or "
     "unique (0 to 4)"),
    ("listen b udp 9 echo auth 5",
     "bad level '5' for auth: bypass, avail, use, require or unique (0 to 4)"),
    ("listen b tcp 9 sink esp foo", "unknown service 'esp' (sink, discard, echo, chargen or "
     "noread, then auth|esp-trans|esp-network|ipcomp LEVEL)"),
    ("at 1s setsockopt b udp 7 IP_AUTH_LEVEL use", "no 'listen b udp 7' before this line"),
    ("at 1s setsockopt b udp 9 IP_AUTH use", "unknown option 'IP_AUTH' (IP_AUTH_LEVEL, "
     "IP_ESP_TRANS_LEVEL, IP_ESP_NETWORK_LEVEL, IP_IPCOMP_LEVEL, the IPV6_ ones, or a number "
     "at level IPPROTO_IP)"),
    ("at 1s setsockopt b udp 9 IP_AUTH_LEVEL lots",
     "bad value 'lots': a level (bypass, avail, use, require or unique (0 to 4)) or any int"),
    ("at 1s setsockopt b udp 9 IP_AUTH_LEVEL use len 17", "bad value '17' for len: 0 to 16"),
    ("at 1s setsockopt b udp 9 IP_AUTH_LEVEL use as p", "label 'p' is already used"),
    ("expect setsockopt q errno == 0", "no 'setsockopt ... as q' before this line"),
    ("expect setsockopt q errno", "usage: expect setsockopt LABEL errno OP VALUE"),
], ids=["bad-level", "no-level", "level-above-4", "tcp-bad-word", "no-listener",
        "unknown-option", "bad-value", "long-len", "label-taken", "expect-no-label",
        "expect-usage"])
def test_scenario_errors(ipsecsim, tmp_path, line, message):
    text = ("node b\nlisten b udp 9\npfkey b as p flush\nend 2s\n" + line + "\n")
    scn = tmp_path / "t.scn"
    scn.write_text(text)
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr == f"{scn}:5: {message}\n"
