"""SA selection by flow: an SA's filter (the flow extensions of SADB_ADD and
SADB_UPDATE) and its identities decide which flows it carries, out and in
(scenarios/sa-by-flow.scn, scenarios/sa-by-ids.scn)."""
import collections
import re

import pytest

from conftest import ROOT, run
from test_pf import tshark_fields

INCLUDE = ROOT / "scenarios" / "include"


def shipped(name, edit=None):
    """A shipped scenario's text, its includes made absolute, edited."""
    text = (ROOT / "scenarios" / f"{name}.scn").read_text()
    text = text.replace("include include/", f"include {INCLUDE}/")
    if edit:
        changed = edit(text)
        assert changed != text
        text = changed
    return text


def run_text(ipsecsim, tmp_path, text):
    scn = tmp_path / "t.scn"
    scn.write_text(text)
    return run(ipsecsim, "run", "-o", tmp_path / "out", scn)


def spi_by_inner_source(out):
    """(SPI, inner source) -> ESP frames on the WAN, decrypted by tshark
    with the run's esp_sa lines, every ICV checked."""
    sa = [l for l in (out / "esp_sa").read_text().splitlines() if l.startswith('"')]
    args = ["-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for line in sa:
        args += ["-o", "uat:esp_sa:" + line]
    import subprocess
    r = subprocess.run(["tshark", "-n", "-r", out / "wan.pcap", *args, "-Y", "esp",
                        "-T", "fields", "-e", "esp.spi", "-e", "ip.src",
                        "-e", "esp.icv_good"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = collections.Counter()
    for line in r.stdout.splitlines():
        spi, srcs, good = line.split("\t")
        assert good == "1", line  # tshark checked the ICV with our keys
        outer, inner = srcs.split(",")
        seen[(int(spi, 16), inner)] += 1
    return seen


def test_each_flow_on_its_own_sa_on_the_wire(ipsecsim, tmp_path):
    """tshark, decrypting the WAN with the run's keys, sees flow a only on
    0x2000, flow b only on 0x2001, and the answers of b only on 0x1001."""
    r = run_text(ipsecsim, tmp_path, shipped("sa-by-flow"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert spi_by_inner_source(tmp_path / "out") == {
        (0x2000, "10.1.1.10"): 12, (0x2001, "10.1.2.10"): 17, (0x1001, "10.2.2.20"): 4}


def test_ids_split_manual_sas_on_the_wire(ipsecsim, tmp_path):
    """With manual keys and identities: flow a on 0x1000 (answers on
    0x1001), flow b on 0x2000; after flow a loses its identities at 2 s,
    its five datagrams go on pair b's SA, and gw2 refuses them."""
    r = run_text(ipsecsim, tmp_path, shipped("sa-by-ids"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert spi_by_inner_source(tmp_path / "out") == {
        (0x1000, "10.1.1.10"): 6, (0x2000, "10.1.2.10"): 7, (0x1001, "10.2.1.20"): 3,
        (0x2000, "10.1.1.10"): 5}
    trace = (tmp_path / "out" / "trace.log").read_text()
    refused = re.findall(r"gw2 ipsec: SA 00002000 from 192\.0\.2\.1 was keyed with other "
                         r"identities than flow esp in from 10\.1\.1\.0/24 to 10\.2\.1\.0/24 "
                         r"local 192\.0\.2\.2 peer 192\.0\.2\.1 srcid a\.gw2\.example dstid "
                         r"a\.gw1\.example type require\n", trace)
    assert len(refused) == 5


def test_without_per_flow_the_newest_sa_carries_both(ipsecsim, tmp_path):
    """The same key managers keying one pair per peer: flow b finds pair
    a's SAs (no filter) and is never keyed; everything goes on 0x2000."""
    r = run_text(ipsecsim, tmp_path, shipped("sa-by-flow", lambda s: s.replace(" per-flow", "")))
    assert r.returncode == 1
    assert "expect gw1 keymgr negotiations == 2: got 1" in r.stdout
    assert "expect gw1 sa 0x2001 opackets == 17: got no such SA" in r.stdout
    # flow b waits for nothing: its first three datagrams pass too
    assert "expect h2b udp 9 packets == 17: got 20" in r.stdout


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.replace("dstid gw2.example per-flow", "dstid gw2.example"),
     "failed: gw2's esp rule for 192.0.2.1 differs: no proposal chosen"),
    (lambda s: s.replace("srcid gw2.example dstid gw1.example per-flow",
                         "srcid gw2.example dstid gw9.example per-flow"),
     "failed: gw2's identities for 192.0.2.1 are not ours the other way round: "
     "authentication failed"),
], ids=["per-flow-on-one-end", "identities-differ"])
def test_key_managers_must_agree(ipsecsim, tmp_path, edit, message):
    r = run_text(ipsecsim, tmp_path, shipped("sa-by-flow", edit))
    assert r.returncode == 1
    assert f"1.020300000 gw1: keymgr: {message}" in r.stdout, r.stdout
    assert "expect gw1 keymgr failures == 0: got" in r.stdout


FILTERS = """\
include {include}/four-lans.inc
ipsec gw1 {{
	flow esp from 10.1.1.0/24 to 10.2.1.0/24 local 192.0.2.1 peer 192.0.2.2
	flow esp from 10.1.2.0/24 to 10.2.2.0/24 local 192.0.2.1 peer 192.0.2.2
}}
ipsec gw2 {{
	flow esp from 10.2.1.0/24 to 10.1.1.0/24 local 192.0.2.2 peer 192.0.2.1
	flow esp from 10.2.2.0/24 to 10.1.2.0/24 local 192.0.2.2 peer 192.0.2.1
}}
K="enc aes-gcm enckey 0x0102030405060708090a0b0c0d0e0f1011121314 flags tunnel"
pfkey gw1 add esp spi 0x2000 src 192.0.2.1 dst 192.0.2.2 $K {a}
pfkey gw1 add esp spi 0x2001 src 192.0.2.1 dst 192.0.2.2 $K {b}
pfkey gw2 add esp spi 0x2000 src 192.0.2.1 dst 192.0.2.2 $K flow 10.1.1.0/24 10.2.1.0/24 in type require
pfkey gw2 add esp spi 0x2001 src 192.0.2.1 dst 192.0.2.2 $K flow 10.1.2.0/24 10.2.2.0/24 in type require
at 1s udp h1a 10.2.1.20:9 size 100 count 6 interval 10ms quiet
at 1s udp h1b 10.2.2.20:9 size 100 count 4 interval 10ms quiet
end 2s
expect h2a udp 9 packets == {h2a}
expect h2b udp 9 packets == 4
expect gw2 ipsec.inpolicy == {refused}
expect gw2 sa 0x2001 ipackets == {on_b}
"""


@pytest.mark.parametrize("a,b,h2a,refused,on_b", [
    ("flow 10.1.1.0/24 10.2.1.0/24 out type require",
     "flow 10.1.2.0/24 10.2.2.0/24 out type require", 6, 0, 4),
    ("", "", 0, 6, 10),
], ids=["sender-with-filters", "sender-without"])
def test_inbound_sa_must_be_the_flows(ipsecsim, tmp_path, a, b, h2a, refused, on_b):
    """gw2's inbound SAs carry their flows.  A sender whose SAs have no
    filter sends flow a on the newest SA to gw2, pair b's: gw2 refuses
    those (ipsec.inpolicy; OpenBSD would take them, asking only the
    identities), and takes flow b's."""
    r = run_text(ipsecsim, tmp_path, FILTERS.format(include=INCLUDE, a=a, b=b, h2a=h2a,
                                                    refused=refused, on_b=on_b))
    assert r.returncode == 0, r.stdout + r.stderr
    trace = (tmp_path / "out" / "trace.log").read_text()
    assert trace.count("gw2 ipsec: SA 00002001 from 192.0.2.1 was keyed for another flow "
                       "than flow esp in from 10.1.1.0/24 to 10.2.1.0/24") == refused


IDS = """\
node a
{flow}
pfkey a add esp spi 0x100 src 192.0.2.1 dst 192.0.2.2 enc aes-gcm enckey 0x0102030405060708090a0b0c0d0e0f1011121314 {ids}
at 1s raw a 192.0.2.2 59
end 2s
expect a ipsec.nosa == {nosa}
expect a sa 0x100 opackets == {used}
"""
LINK = "node b\nlink l a=192.0.2.1/24 b=192.0.2.2/24\n"


@pytest.mark.parametrize("flow_ids,sa_ids,nosa", [
    ("", "", 0),
    ("", "srcid me.example dstid you.example", 0),
    ("srcid me.example dstid you.example", "srcid me.example dstid you.example", 0),
    ("srcid me.example dstid you.example", "", 1),
    # one identity alone is none (import_identities needs both)
    ("srcid me.example dstid you.example", "srcid me.example", 1),
    ("srcid me.example", "", 0),
    ("srcid me.example dstid you.example", "srcid you.example dstid me.example", 1),
    ("srcid me.example dstid you.example", "srcid me@example dstid you.example", 1),
], ids=["none", "sa-only", "same", "sa-without", "sa-one-only", "flow-one-only", "swapped",
        "other-type"])
def test_identities_choose_the_sa(ipsecsim, tmp_path, flow_ids, sa_ids, nosa):
    """ipsp_aux_match: a flow with both identities is carried only by an SA
    added (ADD) with the same SRC and DST identities, type and bytes."""
    flow = ("pfkey a x_addflow esp flow 192.0.2.1/32 192.0.2.2/32 out type require "
            f"src 192.0.2.1 dst 192.0.2.2 {flow_ids}")
    text = IDS.format(flow=flow, ids=sa_ids, nosa=nosa, used=1 - nosa)
    r = run_text(ipsecsim, tmp_path, text.replace("node a\n", "node a\n" + LINK))
    assert r.returncode == 0, r.stdout + r.stderr


def test_sa_identities_in_the_testbed_grammar(ipsecsim, tmp_path):
    """srcid and dstid after an SA rule's transforms (testbed mode): both
    SAs of the rule get them, printed back by -nv; one alone is refused,
    and strict mode knows no such clause."""
    conf = tmp_path / "ipsec.conf"
    key = "0x" + "01" * 20
    conf.write_text(f"esp from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 enc aes-128-gcm "
                    f"enckey {key}:{key} srcid gw1.example dstid gw2.example\n")
    r = run(ipsecsim, "ipsecctl", "-T", "-nv", "-f", conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x00001000 enc aes-128-gcm "
        "srcid gw1.example dstid gw2.example\n"
        "esp tunnel from 192.0.2.2 to 192.0.2.1 spi 0x00001001 enc aes-128-gcm "
        "srcid gw1.example dstid gw2.example\n")
    r = run(ipsecsim, "ipsecctl", "-nv", "-f", conf)
    assert r.returncode == 2 and f"{conf}: 1: syntax error" in r.stderr
    conf.write_text(f"esp from 192.0.2.1 to 192.0.2.2 spi 0x1000 enc aes-128-gcm "
                    f"enckey {key} dstid gw2.example\n")
    r = run(ipsecsim, "ipsecctl", "-T", "-nv", "-f", conf)
    assert r.returncode == 2
    assert f"{conf}: 1: an SA's identities are a pair: srcid ID dstid ID" in r.stderr


@pytest.mark.parametrize("words,message", [
    ("srcid a.example", "srcid and dstid go together: our identity and the peer's"),
    ("per-flow start", "start keys one pair for the whole peer, and per-flow keys one for "
                       "each flow when it asks: not both"),
    ("srcid " + "x" * 128 + " dstid b", "srcid '" + "x" * 128 + "' is too long (at most 127 "
                                        "characters)"),
], ids=["lone-srcid", "start-and-per-flow", "long-id"])
def test_keymgr_rule_errors(ipsecsim, tmp_path, words, message):
    scn = tmp_path / "t.scn"
    scn.write_text(f"node a b\nend 1s\nkeymgr a sa b esp {words}\n")
    r = run(ipsecsim, "run", "-o", tmp_path / "out", scn)
    assert r.returncode == 2
    assert r.stderr == f"{scn}:3: {message}\n"
