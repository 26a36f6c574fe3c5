"""show NODE memory: what a node holds by type, as vmstat -m lists it;
counts exact, every type with things in use has bytes, the total is the
sum, the figures follow what the node holds (SAs and flows added, a packet
held for ARP, then not) and two runs print the same."""
from conftest import run

K = "0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567"

SCN = f"""\
node a b
link l a=192.0.2.1/24,2001:db8::1/64 b=192.0.2.2/24,2001:db8::2/64
K="{K}"
ipsec a {{
\tflow esp from 192.0.2.1 to 192.0.2.2
\tflow esp from 2001:db8::1 to 2001:db8::2
\tesp transport from 192.0.2.1 to 192.0.2.2 spi 0x500:0x501 enc aes-128-gcm enckey $K
\tesp transport from 2001:db8::1 to 2001:db8::2 spi 0x600:0x601 enc aes-128-gcm enckey $K
}}
listen b udp 9
show a memory
at 1s udp a 192.0.2.2:9 data hello count 3 interval 1ms quiet
at 1s show a memory
at 2s show b memory
end 4s
"""


def tables(out):
    """{(node, time): {type: (inuse, bytes)}} from the run's output."""
    res, cur = {}, None
    for line in out.splitlines():
        if line.startswith("--- ") and "memory (vmstat -m)" in line:
            w = line.split()
            cur = res.setdefault((w[1].rstrip(":"), w[-3]), {})
        elif cur is not None and line.startswith("Type"):
            continue
        elif cur is not None and line.split() and line.split()[0] == "total":
            cur["total"] = int(line.split()[1])
            cur = None
        elif cur is not None:
            t, inuse, nbytes = line.split()
            cur[t] = (int(inuse), int(nbytes))
    return res


def test_show_memory(ipsecsim, tmp_path):
    (tmp_path / "m.scn").write_text(SCN)
    r = run(ipsecsim, "run", "-o", "o", "m.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    t = tables(r.stdout)
    assert list(t) == [("a", "1.000000000"), ("b", "2.000000000"), ("a", "4.000000000")]
    types = ["node", "iface", "route", "arp", "nd", "reass", "pmtu", "socket", "tcpcb", "tdb",
             "xform", "flow", "pfkey", "pf", "bridge"]
    for v in t.values():
        assert [k for k in v if k != "total"] == types
        assert v["total"] == sum(v[k][1] for k in types)
        assert all(v[k][1] > 0 for k in types if v[k][0] > 0)
    a1, b2, a4 = t[("a", "1.000000000")], t[("b", "2.000000000")], t[("a", "4.000000000")]
    # a: four SAs (two pairs), their transforms, the two flows as out and in rules
    assert (a1["tdb"][0], a1["xform"][0], a1["flow"][0]) == (4, 4, 4)
    assert (a1["node"][0], a1["iface"][0]) == (1, 1)
    # the first datagram waits for ARP: an entry holding a packet
    assert a1["arp"][0] == 1 and a1["arp"][1] > b2["arp"][1] / b2["arp"][0]
    # b: no IPsec at all; one socket (the listener)
    assert (b2["tdb"], b2["flow"], b2["pfkey"]) == ((0, 0), (0, 0), (0, 0))
    assert b2["socket"][0] == 1
    # a at the end: the ARP entry holds nothing any more
    assert a4["arp"][0] == 1 and a4["arp"][1] < a1["arp"][1]


def test_show_memory_same_every_run(ipsecsim, tmp_path):
    """Sizes, not the allocator: the same run prints the same figures."""
    (tmp_path / "m.scn").write_text(SCN)
    one = run(ipsecsim, "run", "-o", "o", "m.scn", cwd=tmp_path).stdout
    two = run(ipsecsim, "run", "-o", "o2", "m.scn", cwd=tmp_path).stdout
    assert tables(one) == tables(two) and len(tables(one)) == 3
