"""OpenBSD's IPsec regress test (regress/sys/netinet/ipsec) as one scenario,
scenarios/openbsd-regress-ipsec.scn: the scenario is what tools/regress-matrix
writes; its JUnit report has one test case per target of the original, named
as the original names them; enc0 on IPS shows each protocol with tcpdump's
flags; pflog0 logs pass in and out on enc0; and a broken IPS fails exactly
the targets it should."""
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run

SCN = ROOT / "scenarios" / "openbsd-regress-ipsec.scn"
INC = ROOT / "scenarios" / "include" / "openbsd-regress-addresses.inc"
CONF = ROOT / "tests" / "data" / "openbsd-regress-ipsec" / "ipsec.conf"
SECS = ["ESP", "AH", "IPIP", "IPCOMP", "BUNDLE"]
PING_MODES = [("SRC", "TRANSP"), ("SRC", "TUNNEL"), ("IPS", "TRANSP"), ("IPS", "TUNNEL4"),
              ("IPS", "TUNNEL6"), ("ECO", "TUNNEL4"), ("ECO", "TUNNEL6")]
ECHO_MODES = PING_MODES[2:]  # udp and tcp: not to SRC's own addresses
FAMILIES = ["IPV4", "IPV6"]


def original_targets():
    """The regress Makefile's exchanges (its run-send targets), spelled out
    independently of the generator: plain pings of every interface address,
    then per protocol ping -s24 and -s1000 to every mode, and UDP echo,
    protocol 59 reflection and TCP echo to the modes that leave SRC; and
    the TCP path MTU transfers through the ESP tunnel."""
    names = [f"ping-{h}_{d}_{v}" for h, d in [("SRC", "OUT"), ("IPS", "IN"), ("IPS", "OUT"),
                                              ("RT", "IN"), ("RT", "OUT"), ("ECO", "IN")]
             for v in FAMILIES]
    for s in SECS:
        names += [f"ping-{size}-{h}_{s}_{m}_{v}" for h, m in PING_MODES for v in FAMILIES
                  for size in ("small", "big")]
        names += [f"{what}-{h}_{s}_{m}_{v}" for h, m in ECHO_MODES for v in FAMILIES
                  for what in ("udp", "nonxt", "tcp")]
    names += [f"tcp-pmtu-{h}_ESP_{m}_{v}" for h, m in ECHO_MODES[1:] for v in FAMILIES]
    return names


@pytest.fixture(scope="module")
def matrix(ipsecsim, tmp_path_factory):
    out = tmp_path_factory.mktemp("matrix")
    r = run(ipsecsim, "run", "-o", out, "--junit", out / "junit.xml", SCN)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    return out, r.stdout


def test_generated_scenario_is_current(tmp_path):
    """The committed scenario and include are what the generator writes."""
    scn, inc = tmp_path / "m.scn", tmp_path / "m.inc"
    subprocess.run(["sh", "tools/regress-matrix", str(scn), str(inc)], cwd=ROOT, check=True,
                   timeout=60)
    assert scn.read_text() == SCN.read_text(), "run tools/regress-matrix and commit"
    assert inc.read_text() == INC.read_text(), "run tools/regress-matrix and commit"


def test_one_test_case_per_target(matrix):
    out, stdout = matrix
    want = original_targets()
    # 152 pings, 50 UDP, 58 TCP (8 of them path MTU), 50 protocol 59
    assert len(want) == len(set(want)) == 310
    assert sum(w.startswith("ping-") for w in want) == 152
    assert sum(w.startswith("tcp-") for w in want) == 58
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    cases = [c.get("name") for c in suite.findall("testcase")]
    assert sorted(cases) == sorted(want)
    assert suite.get("tests") == "310" and suite.get("failures") == "0"
    assert not suite.findall("testcase/failure")
    assert re.search(r"^end at .*; 310 test cases, 310 passed, 0 failed$", stdout, flags=re.M)


def test_every_target_checks_its_counters(matrix):
    """Each ping, echo and reflection checks the rise of ten counters at IPS
    over its own exchange (the SRC-own pings too: they must not move them):
    the four protocols' input and output, and enc0's."""
    text = SCN.read_text()
    blocks = re.split(r"^testcase ", text, flags=re.M)[1:]
    assert len(blocks) == 310
    counters = ["esp.input", "esp.output", "ah.input", "ah.output", "ipcomp.input",
                "ipcomp.output", "ipip.ipackets", "ipip.opackets", "enc.ipackets",
                "enc.opackets"]
    checked = 0
    for b in blocks:
        name = b.split("\n", 1)[0]
        if name.count("_") == 2 or name.startswith("tcp-pmtu-"):
            continue  # the plain pings of interface addresses; path MTU
        start = float(re.search(r"^at (\S+)s (?:ping|udp|raw|tcp) SRC ", b, re.M).group(1))
        got = re.findall(r"^at (\S+)s expect IPS (\S+) == \d+ since (\S+)s$", b, flags=re.M)
        assert [g[1] for g in got] == counters, name
        for at, _, since in got:  # from before the exchange to after it
            assert float(since) < start < float(at), name
        checked += 1
    assert checked == 310 - 12 - 8


def spi_protocols():
    """SPI -> (protocol, in a bundle, inbound at IPS), read from the regress
    ipsec.conf itself: 'spi A:B' is A from SRC to IPS, B back."""
    out = {}
    for stmt in CONF.read_text().replace("\\\n", " ").splitlines():
        m = re.match(r"\s*(esp|ah|ipcomp|ipip)\s+(transport|tunnel)\b.*?\bspi\s+"
                     r"(0x[0-9a-f]+):(0x[0-9a-f]+)(.*)", stmt, flags=re.S)
        if not m:
            continue
        bundle = "bundle" in m.group(5)
        out[int(m.group(3), 16)] = (m.group(1), bundle, True)
        out[int(m.group(4), 16)] = (m.group(1), bundle, False)
    return out


def tcpdump(path, *args):
    r = subprocess.run(["tcpdump", "-nn", *args, "-r", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_enc0_shows_each_protocol_as_tcpdump_prints_it(matrix):
    """Out: each SA's own protection.  In: what protected the packet so far
    (OpenBSD's M_AUTH and M_CONF mbuf flags), so a bundle's IPComp, taken
    off after AH and ESP, shows (authentic,confidential)."""
    out, _ = matrix
    protos = spi_protocols()
    flags = {"esp": "(authentic,confidential)", "ah": "(authentic)", "ipcomp": "(unprotected)"}
    seen = {}
    lines = tcpdump(out / "ips-enc0.pcap")
    assert lines
    for line in lines:
        m = re.match(r"\S+ (\(\S+\)): SPI 0x([0-9a-f]{8}): ", line)
        assert m, line
        proto, bundle, inbound = protos[int(m.group(2), 16)]
        want = flags[proto]
        if bundle and inbound and proto == "ipcomp":
            want = flags["esp"]
        assert m.group(1) == want, line
        seen[proto] = seen.get(proto, 0) + 1
    # every protocol with an SA passes enc0 (IPIP has none: it is not IPsec)
    assert set(seen) == {"esp", "ah", "ipcomp"}
    # both directions of every SA pair that carried traffic
    spis = {int(re.search(r"SPI 0x([0-9a-f]+)", ln).group(1), 16) for ln in lines}
    for spi in spis:
        assert spi ^ 3 in spis, hex(spi)  # 0x...41 in, 0x...42 out


def test_pflog_on_enc0_passes_in_and_out(matrix):
    out, _ = matrix
    lines = tcpdump(out / "ips-pflog0.pcap", "-e")
    rules = {re.search(r"rule \S+: (pass (in|out) on \w+):", ln).group(1) for ln in lines}
    # pass log (all) on enc0: its states float, so their packets on IPS's
    # interfaces are logged too (IPComp's and IP-in-IP's inbound ones)
    assert {"pass in on enc0", "pass out on enc0"} <= rules
    assert rules <= {"pass in on enc0", "pass out on enc0", "pass in on in", "pass out on in",
                     "pass in on out", "pass out on out"}
    # an echo request to IPS's ESP transport address logged in, its reply out
    assert any("pass in on enc0: 10.188.105.17 > 10.188.105.70: ICMP echo request" in ln
               for ln in lines)
    assert any("pass out on enc0: 10.188.105.70 > 10.188.105.17: ICMP echo reply" in ln
               for ln in lines)


def test_a_broken_ips_fails_its_targets(ipsecsim, tmp_path):
    """The other side: with ESP turned off on IPS exactly the exchanges
    through ESP fail (ESP's and the bundles', not those to SRC's own
    addresses), each on its own: the counters are checked per exchange."""
    text = SCN.read_text().replace(
        "sysctl IPS net.inet.ipcomp.enable=1",
        "sysctl IPS net.inet.ipcomp.enable=1\nsysctl IPS net.inet.esp.enable=0")
    scn = tmp_path / "broken.scn"
    scn.write_text(text.replace("include include/", f"include {INC.parent}/").replace(
        "file ../tests/", f"file {ROOT}/tests/"))
    r = run(ipsecsim, "run", "-o", tmp_path / "out", "--junit", tmp_path / "out" / "junit.xml",
            scn)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    failed = {c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None}
    through_esp = {n for n in original_targets() if ("_ESP_" in n or "_BUNDLE_" in n)
                   and "-SRC_" not in n}
    assert len(through_esp) == 58 + 50
    assert failed == through_esp
    body = suite.find("testcase[@name='ping-small-IPS_ESP_TRANSP_IPV4']/failure").text
    assert re.search(r":\d+: expect ping-small-IPS_ESP_TRANSP_IPV4 received == 1: got 0$", body,
                     re.M)
    assert re.search(r":\d+: at \S+ expect IPS esp.input == 1 since \S+: got 0$", body, re.M)


def addresses():
    return dict(line.split("=", 1) for line in
                (ROOT / "tests/data/openbsd-regress-ipsec/addresses.txt").read_text().split())


@pytest.mark.parametrize("mode", ["TUNNEL4", "TUNNEL6"])
@pytest.mark.parametrize("fam", FAMILIES)
def test_path_mtu_through_the_tunnel(matrix, mode, fam):
    """RT's "fragmentation needed" (IPv6: "packet too big") for 1300 bytes
    goes back to SRC inside the tunnel (out of enc0 under ESP), and SRC's
    segments shrink to what 1300 bytes hold (headers and the timestamp
    option: 52 bytes for IPv4, 72 for IPv6)."""
    out, _ = matrix
    a = addresses()
    src, eco, rt = a[f"SRC_ESP_TUNNEL_{fam}"], a[f"ECO_ESP_{mode}_{fam}"], a[f"RT_IN_{fam}"]
    lines = tcpdump(out / "ips-enc0.pcap")
    err = ("ICMP " + eco + " unreachable - need to frag (mtu 1300)" if fam == "IPV4"
           else "ICMP6, packet too big, mtu 1300")
    back = [ln for ln in lines if "(authentic,confidential)" in ln
            and f" {rt} > {src}: {err}" in ln]
    assert back, f"no {err} from {rt} to {src} through the tunnel"
    sizes = [int(m.group(1)) for ln in lines
             if re.search(rf" {re.escape(src)}\.\d+ > {re.escape(eco)}\.7: ", ln)
             for m in [re.search(r"length (\d+)$", ln)] if m and int(m.group(1)) >= 1000]
    fit = 1300 - (52 if fam == "IPV4" else 72)
    assert sizes[0] > fit and sizes[-2] == fit, sizes  # the last is the remainder
    assert sum(1 for s in sizes if s == fit) >= 9


@pytest.mark.parametrize("mode", ["TUNNEL4", "TUNNEL6"])
@pytest.mark.parametrize("fam", FAMILIES)
def test_path_mtu_to_ips_fits_from_the_start(matrix, mode, fam):
    """To IPS itself the path is the tunnel over the 1400-byte link: SRC's
    TCP takes the tunnel's overhead off its MSS from the start, so every
    full segment has one size: nothing had to shrink."""
    out, _ = matrix
    a = addresses()
    src, ips = a[f"SRC_ESP_TUNNEL_{fam}"], a[f"IPS_ESP_{mode}_{fam}"]
    lines = tcpdump(out / "ips-enc0.pcap")
    conns = {}
    for ln in lines:
        m = re.search(rf" {re.escape(src)}\.(\d+) > {re.escape(ips)}\.7: .*length (\d+)$", ln)
        if m and int(m.group(2)):
            conns.setdefault(m.group(1), []).append(int(m.group(2)))
    sizes = [c for c in conns.values() if sum(c) == 13545]
    assert len(sizes) == 1, conns
    sizes = sizes[0]
    assert len(set(sizes[:-1])) == 1 and sizes[0] > 1200, sizes  # full ones, then the rest
