"""Scenario statements of the IPsec control plane: ipsec blocks and files,
show (ipsecctl -s ... -v output, byte for byte) and expect ... ipsec."""
import textwrap

from conftest import run

K20 = "03" * 20
K20B = "04" * 20


def scenario(tmp_path, text, name="t.scn"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def show_block(stdout):
    """The lines between the scenario banner and the `end at` line."""
    lines = stdout.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith("end at "))
    return "".join(lines[1:end])


def test_show_all_with_keys_prints_as_pfkdump(ipsecsim, tmp_path):
    scn = scenario(tmp_path, f"""\
        node a
        ipsec a {{
          flow esp out proto udp from 10.0.0.0/8 port 53 to 192.0.2.0/24 peer 198.51.100.2 type use
          esp transport from 198.51.100.1 to 198.51.100.2 spi 0x200:0x100 udpencap port 4500 \\
             enc aes-128-gcm enckey 0x{K20}:0x{K20B} esn replay 32 \\
             lifetime soft bytes 900 time 50 usetime 20
        }}
        show a all keys
        end 0s
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    sa = """\
        esp transport from {src} to {dst} spi 0x00000{spi} enc aes-128-gcm \\
        \tenckey 0x{key}
        \tsa: spi 0x00000{spi} auth gmac-aes-128 enc aes-gcm
        \t\tstate mature replay 32 flags 0x600<udpencap,esn>
        \tlifetime_cur: alloc 0 bytes 0 add 0 first 0
        \tlifetime_soft: alloc 0 bytes 900 add 50 first 20
        \taddress_src: {src}
        \taddress_dst: {dst}
        \tkey_encrypt: bits 160: {key}
        \tudpencap: udpencap port 4500
        \tcounter: \n\

        \treplay: rpl 1
        """
    a, b = "198.51.100.1", "198.51.100.2"
    want = ("--- a: ipsecctl -s all -vk at 0.000000000 s ---\n"
            "FLOWS:\n"
            "flow esp out proto udp from 10.0.0.0/8 port domain to 192.0.2.0/24 "
            "peer 198.51.100.2 type use\n"
            "\n"
            "SAD:\n"
            # sorted by SPI: the reverse SA (0x100) comes first
            + textwrap.dedent(sa).format(src=b, dst=a, spi="100", key=K20B)
            + textwrap.dedent(sa).format(src=a, dst=b, spi="200", key=K20))
    assert show_block(r.stdout) == want


def test_show_without_keys_and_at_a_time(ipsecsim, tmp_path):
    scn = scenario(tmp_path, f"""\
        node a
        ipsec a {{
          ah transport from 192.0.2.1 to 192.0.2.2 spi 0x2000 auth hmac-md5 \\
             authkey 0x{"02" * 16} bundle vpn
        }}
        at 2s show a sa
        at 2500ms show a flow
        end 3s
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert show_block(r.stdout) == (
        "--- a: ipsecctl -s sa -v at 2.000000000 s ---\n"
        "ah transport from 192.0.2.1 to 192.0.2.2 spi 0x00002000 auth hmac-md5\n"
        "\tsa: spi 0x00002000 auth hmac-md5 enc none\n"
        "\t\tstate mature replay 0 flags 0<>\n"
        "\tlifetime_cur: alloc 0 bytes 0 add 0 first 0\n"
        "\taddress_src: 192.0.2.1\n"
        "\taddress_dst: 192.0.2.2\n"
        "\tcounter: \n"
        "\n"
        "\treplay: rpl 1\n"
        "--- a: ipsecctl -s flow -v at 2.500000000 s ---\n")
    assert "02" * 16 not in r.stdout


def test_empty_kernel(ipsecsim, tmp_path):
    scn = scenario(tmp_path, """\
        node a
        show a all
        expect a ipsec sas == 0
        expect a ipsec flows == 0
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert show_block(r.stdout).startswith(
        "--- a: ipsecctl -s all -v at 0.000000000 s ---\n"
        "FLOWS:\nNo flows\n\nSAD:\nNo entries\n")


def test_file_form_sees_scenario_macros_and_defines(ipsecsim, tmp_path):
    (tmp_path / "a.conf").write_text(
        "flow esp from $NET to 10.2.0.0/16 peer $PEER\n"
        "flow esp from 10.3.0.0/16 to 10.4.0.0/16 peer $PEER\n")
    scn = scenario(tmp_path, """\
        NET="10.1.0.0/16"
        PEER="192.0.2.9"
        node a
        ipsec a file a.conf
        show a flow
        expect a ipsec flows == 4
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.9" in r.stdout
    # -D wins over the scenario's macro
    r = run(ipsecsim, "run", "-D", "PEER=192.0.2.77", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.77" in r.stdout
    assert "192.0.2.9" not in r.stdout


def test_a_wrong_count_fails_the_run(ipsecsim, tmp_path):
    scn = scenario(tmp_path, """\
        node a
        ipsec a {
          flow esp from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.2
        }
        expect a ipsec flows == 3
        expect a ipsec sas < 1
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 1
    assert "FAIL t.scn:5: expect a ipsec flows == 3: got 2" in r.stdout
    assert "ok   t.scn:6: expect a ipsec sas < 1" in r.stdout


def test_a_refused_rule_in_a_file_names_the_file(ipsecsim, tmp_path):
    (tmp_path / "a.conf").write_text(
        "# two SAs with one SPI\n"
        f"ah from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 authkey 0x{K20}\n"
        f"ah from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 authkey 0x{K20}\n")
    scn = scenario(tmp_path, "node a\nipsec a file a.conf\n")
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "a.conf:3: a's kernel refused rule 1: File exists\n"


def test_pfkey_statements_print_replies_and_monitor(ipsecsim, tmp_path):
    scn = scenario(tmp_path, f"""\
        node a
        listen a pfkey mon print
        pfkey a as one add ah spi 0x300 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 \\
            authkey 0x{K20} lifetime hard bytes 1000 add 60
        at 1s pfkey a as two add ah spi 0x300 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 \\
            authkey 0x{K20}
        expect pfkey one errno == 0
        expect pfkey two errno == EEXIST
        expect a pfkey mon received add ah == 1
        expect a pfkey mon received add esp == 0
        end 2s
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert show_block(r.stdout) == (
        # the broadcast reply, keys stripped, as ipsecctl -m prints it
        "0.000000000 a: pfkey mon received sadb_add: satype ah vers 2 len 14 seq 0 pid 1001\n"
        "\tsa: spi 0x00000300 auth hmac-sha1 enc none\n"
        "\t\tstate mature replay 0 flags 0<>\n"
        "\tlifetime_hard: alloc 0 bytes 1000 add 60 first 0\n"
        "\taddress_src: 192.0.2.1\n"
        "\taddress_dst: 192.0.2.2\n"
        "0.000000000 a: pfkey add ah: ok\n"
        # errors go back to the sender alone
        "1.000000000 a: pfkey add ah: EEXIST (File exists)\n"
        "ok   t.scn:7: expect pfkey one errno == 0\n"
        "ok   t.scn:8: expect pfkey two errno == EEXIST\n"
        "ok   t.scn:9: expect a pfkey mon received add ah == 1\n"
        "ok   t.scn:10: expect a pfkey mon received add esp == 0\n")
    assert K20 not in r.stdout


def test_pfkey_errno_failures_name_the_errno(ipsecsim, tmp_path):
    scn = scenario(tmp_path, """\
        node a
        pfkey a as d delete esp spi 0x1000 dst 192.0.2.2
        at 5s pfkey a as late flush
        expect pfkey d errno == 0
        at 1s expect pfkey late errno == 0
        """)
    r = run(ipsecsim, "run", "--junit", "j.xml", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 1
    assert "FAIL t.scn:4: expect pfkey d errno == 0: got ESRCH (3)\n" in r.stdout
    assert ("FAIL t.scn:5: at 1s expect pfkey late errno == 0: "
            "got nothing: the message was not sent yet\n") in r.stdout
    assert 'failure message="got ESRCH (3)"' in (tmp_path / "j.xml").read_text()


def test_pfkey_raw_and_malformed_variants(ipsecsim, tmp_path):
    # Each of these is refused by the parser with EINVAL and changes nothing.
    variants = {
        "version1": f"add esp version 1 spi 0x1000 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 enc null authkey 0x{K20}",
        "dupext": f"add esp spi 0x1000 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 enc null authkey 0x{K20} ext 6 020000000000000000000000000000000000000000000000",
        "nodst": f"add esp spi 0x1000 src 192.0.2.1 auth hmac-sha1 enc null authkey 0x{K20}",
        "spirange": f"add esp spi 0x1000 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 enc null authkey 0x{K20} spirange 0x100 0x200",
        "afmix": f"add esp spi 0x1000 src 2001:db8::1 dst 192.0.2.2 auth hmac-sha1 enc null authkey 0x{K20}",
        "keylen": "add esp spi 0x1000 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 enc null authkey 0x0011",
        "satype": f"add satype 99 spi 0x1000 src 192.0.2.1 dst 192.0.2.2 auth hmac-sha1 authkey 0x{K20}",
        "short": "raw 02030000",
    }
    lines = ["node a", "listen a pfkey mon"]
    for label, text in variants.items():
        lines.append(f"pfkey a as {label} {text}")
        lines.append(f"expect pfkey {label} errno == EINVAL")
    lines += ["expect a ipsec sas == 0", "expect a pfkey mon received == 0"]
    scn = scenario(tmp_path, "\n".join(lines) + "\n")
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": EINVAL (Invalid argument)\n") == len(variants)


ESP_PAIR = """\
node a b
link l a=192.0.2.1/24 b=192.0.2.2/24 delay 1ms
capture l l.pcap
AK="0x0101010101010101010101010101010101010101010101010101010101010101:0x0202020202020202020202020202020202020202020202020202020202020202"
EK="0x03030303030303030303030303030303:0x04040404040404040404040404040404"
ipsec a {
	flow esp from 192.0.2.1 to 192.0.2.2
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 authkey $AK enckey $EK replay 64
}
ipsec b {
	esp transport from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 authkey $AK enckey $EK replay 64
}
listen b udp 9
"""


def test_drop_attack_takes_the_nth_matching_frame(ipsecsim, tmp_path):
    from scapy.all import rdpcap
    from scapy.layers.ipsec import ESP
    scn = scenario(tmp_path, ESP_PAIR + """\
drop l from a esp spi 0x1000 2
at 1s udp a 192.0.2.2:9 size 10 count 3 interval 100ms quiet
end 2s
expect l link.attackdrop == 1
expect b udp 9 packets == 2
expect b esp.input == 2
""")
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # The capture still shows what was sent: sequence numbers 1, 2, 3.
    wire = [p[ESP].seq for p in rdpcap(str(tmp_path / "o" / "l.pcap")) if ESP in p]
    assert wire == [1, 2, 3]
    assert "attack drop len" in (tmp_path / "o" / "trace.log").read_text()


def test_inject_replays_a_whole_capture(ipsecsim, scenario_runs, tmp_path):
    """The replay attack's capture (three ESP packets and the replayed copy)
    injected into the same topology: the receiver takes the three and
    refuses the copy, exactly as in the run that made the capture."""
    pcap = scenario_runs["replay-attack"] / "l1.pcap"
    scn = scenario(tmp_path, ESP_PAIR.replace("link l ", "link l1 ").replace(
        "capture l l.pcap", "") + f"""\
at 1s inject l1 {pcap} from a
end 10s
expect l1 link.injected == 6
expect b esp.input == 4
expect b esp.replay == 1
expect b udp 9 packets == 3
""")
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ipcomp_off_by_default(ipsecsim, tmp_path):
    """IPComp SAs load while net.inet.ipcomp.enable is 0 (OpenBSD's
    default), but a packet their flow catches is dropped as
    ipsec.disabled; switched on, the same packets go (too short to be
    compressed: ipcomp.minlen)."""
    scn = scenario(tmp_path, """\
        node a b
        link l a=192.0.2.1/24 b=192.0.2.2/24
        ipsec a {
          flow ipcomp from 192.0.2.1 to 192.0.2.2
          ipcomp transport from 192.0.2.1 to 192.0.2.2 spi 0x4000:0x4001
        }
        at 1s ping a 192.0.2.2 count 2
        at 2.5s sysctl a net.inet.ipcomp.enable=1
        at 3s ping a 192.0.2.2 count 2
        end 5s
        expect a ipsec.disabled == 2
        expect b icmp.inhist.echo == 2
        expect a ipcomp.minlen == 2
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_enc0_header_and_tunnel_outer_header(ipsecsim, tmp_path):
    """enc0's 12 bytes (af and flags in host order, SPI in network order,
    LINKTYPE_ENC 109), and tunnel mode's outer header: DF and TOS from the
    inner one (CE masked to ECT(0)), TTL from net.inet.ip.ttl, the inner
    TTL untouched."""
    import struct
    scn = scenario(tmp_path, """\
        node h gw1 gw2 s
        link lan1 h=10.1.0.10/24 gw1=10.1.0.1/24
        link wan gw1=192.0.2.1/24 gw2=192.0.2.2/24
        link lan2 gw2=10.2.0.1/24 s=10.2.0.10/24
        sysctl gw1 net.inet.ip.forwarding=1
        sysctl gw2 net.inet.ip.forwarding=1
        sysctl gw1 net.inet.ip.ttl=50
        route h default via 10.1.0.1
        route s default via 10.2.0.1
        route gw1 10.2.0.0/24 via 192.0.2.2
        route gw2 10.1.0.0/24 via 192.0.2.1
        capture gw1.enc0 enc0.pcap
        K="0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567"
        ipsec gw1 {
          flow esp from 10.1.0.0/24 to 10.2.0.0/24 peer 192.0.2.2
          esp from 192.0.2.1 to 192.0.2.2 spi 0x1001:0x1002 enc aes-128-gcm enckey $K
        }
        ipsec gw2 {
          flow esp from 10.2.0.0/24 to 10.1.0.0/24 peer 192.0.2.1
          esp from 192.0.2.1 to 192.0.2.2 spi 0x1001:0x1002 enc aes-128-gcm enckey $K
        }
        at 1s ping h 10.2.0.10 count 1 tos 0xbb df
        at 2s ping h 10.2.0.10 count 1 tos 0x10
        end 3s
        expect h icmp.inhist.echoreply == 2
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    data = (tmp_path / "o" / "enc0.pcap").read_bytes()
    assert struct.unpack("<I", data[20:24])[0] == 109  # LINKTYPE_ENC
    records, off = [], 24
    while off < len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        records.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    out = [rec for rec in records if rec[4:8] == bytes.fromhex("00001001")]
    assert len(out) == 2
    for rec, inner_tos, outer_tos, df in ((out[0], 0xbb, 0xba, True),
                                          (out[1], 0x10, 0x10, False)):
        af, flags = struct.unpack("=I", rec[0:4])[0], struct.unpack("=I", rec[8:12])[0]
        assert af == 2 and flags == 0x0400 | 0x0800  # AF_INET; confidential, authentic
        outer, inner = rec[12:32], rec[32:52]
        assert outer[9] == 4 and outer[1] == outer_tos and outer[8] == 50
        assert bool(outer[6] & 0x40) == df
        assert inner[1] == inner_tos and inner[8] == 63  # decremented once, by gw1's forwarding


def test_a_tunnel_peer_that_never_answers_neighbor_discovery(ipsecsim, tmp_path):
    """The outer header is the gateway's own: when the peer's address never
    resolves, the held outer packets are dropped (nd6.timeout) without an
    ICMPv6 error, which would only have gone back to the gateway itself;
    the inner packets' source hears nothing, as from any lost packet."""
    scn = scenario(tmp_path, f"""\
        node h gw x
        link lan h=2001:db8:1::10/64 gw=2001:db8:1::1/64
        link wan gw=2001:db8:ff::1/64 x=2001:db8:ff::3/64
        sysctl gw net.inet6.ip6.forwarding=1
        route h default via 2001:db8:1::1
        route gw 2001:db8:2::/64 via 2001:db8:ff::99
        ipsec gw {{
          flow esp from 2001:db8:1::/64 to 2001:db8:2::/64 peer 2001:db8:ff::99
          esp tunnel from 2001:db8:ff::1 to 2001:db8:ff::99 spi 0x1000 \\
            enc aes-128-gcm enckey 0x{K20}
        }}
        at 1s ping h 2001:db8:2::20 count 2 interval 100ms
        end 6s
        expect gw esp.output == 2
        expect gw nd6.timeout == 2
        expect gw icmp6.outhist.unreach == 0
        expect gw icmp6.inhist.unreach == 0
        expect h icmp6.inhist.unreach == 0
        expect gw ip6.forward == 2
        """)
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 packets transmitted, 0 packets received" in r.stdout


IPIP_TOPOLOGY = """\
    seed 1
    node x b c
    link l1 x=2001:db8:1::9/64,10.1.0.9/24 b=2001:db8:1::1/64,10.1.0.1/24
    link l2 b=2001:db8:2::1/64,10.2.0.1/24 c=2001:db8:2::2/64,10.2.0.2/24
    sysctl b net.inet6.ip6.forwarding=1
    sysctl b net.inet.ip.forwarding=1
    sysctl b net.inet.ipip.allow=1
    capture l1 l1.pcap
    capture l2 l2.pcap
    """


def test_ipip_input_across_families_and_ecn_egress(ipsecsim, tmp_path):
    """IP-in-IP input (net.inet.ipip.allow 1, no IPsec needed) of both
    families inside both: the outer header comes off and the inner packet is
    forwarded to c; CE on the outer header reaches an ECN-capable inner
    packet and drops a Not-ECT one (RFC 6040 4.2); an inner version that
    is not the one the next header names, and an inner source of b's own,
    are dropped by name."""
    from scapy.all import IP, UDP, Ether, IPv6, Raw, rdpcap, wrpcap
    # b's MAC on l1: from a first run in which b solicits x
    probe = scenario(tmp_path, IPIP_TOPOLOGY + "at 1s ping b 2001:db8:1::9\nend 2s\n", "p.scn")
    r = run(ipsecsim, "run", "-o", "p", probe.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    bmac = rdpcap(str(tmp_path / "p" / "l1.pcap"))[0][Ether].src
    o6 = dict(src="2001:db8:1::9", dst="2001:db8:1::1")
    o4 = dict(src="10.1.0.9", dst="10.1.0.1")
    i6 = dict(src="2001:db8:1::9", dst="2001:db8:2::2")
    i4 = dict(src="10.1.0.9", dst="10.2.0.2")
    udp = UDP(sport=5, dport=9) / Raw(b"ipip")
    frames = [  # (outer, inner) and what c must receive: the inner class or None
        (IPv6(tc=0x03, **o6) / IPv6(tc=0x02, **i6) / udp, 0x03),   # 6in6, CE onto ECT(0)
        (IP(tos=0x03, **o4) / IPv6(tc=0xb9, **i6) / udp, 0xbb),    # 6in4, CE onto ECT(1)
        (IPv6(tc=0x03, **o6) / IP(tos=0x0a, **i4) / udp, 0x0b),    # 4in6, CE onto ECT(0)
        (IPv6(tc=0x01, **o6) / IPv6(tc=0xb8, **i6) / udp, 0xb8),   # no CE: left alone
        (IPv6(tc=0x03, **o6) / IPv6(tc=0xb8, **i6) / udp, None),   # CE over Not-ECT: pdrops
        (IPv6(nh=41, **o6) / IP(**i4) / udp, None),                 # 41 naming IPv4: family
        (IPv6(**o6) / IPv6(src="2001:db8:2::1", dst="2001:db8:2::2") / udp, None),  # spoof
    ]
    pcap = tmp_path / "in.pcap"
    wrpcap(str(pcap), [Ether(src="02:00:00:00:00:09", dst=bmac) / f for f, _ in frames])
    scn = scenario(tmp_path, IPIP_TOPOLOGY + f"""\
        listen c udp 9
        at 1s inject l1 {pcap} from x
        end 5s
        expect b ipip.ipackets == 7
        expect b ipip.pdrops == 1
        expect b ipip.family == 1
        expect b ipip.spoof == 1
        expect c udp 9 packets == 4
        """.replace("        ", ""))
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    got = []
    for f in rdpcap(str(tmp_path / "o" / "l2.pcap")):
        if UDP in f and f[UDP].dport == 9:
            ip = f[IPv6] if IPv6 in f else f[IP]
            got.append((ip.version, ip.tc if ip.version == 6 else ip.tos, f[Raw].load))
    want = [(inner.payload.version, tc, b"ipip") for inner, tc in frames if tc is not None]
    assert sorted(got) == sorted(want)


def test_every_node_draws_from_its_own_stream(ipsecsim, tmp_path):
    """Each node's random draws come from streams named after it (sim/rng.h):
    two nodes doing the same things at the same instants must still draw
    different IP ids, ESP IVs (AES-CBC: random) and GETSPI
    SPIs.  A stream seeded without the node's name gives both the same."""
    import re
    from scapy.all import IP, rdpcap
    from scapy.layers.ipsec import ESP
    scn = scenario(tmp_path, ESP_PAIR.replace("ipsec b {\n", """ipsec b {
	flow esp from 192.0.2.2 to 192.0.2.1
""") + """\
listen a pfkey km print
listen b pfkey km print
pfkey a via km getspi esp src 192.0.2.9 dst 192.0.2.1 spirange 0x100 0xffffffff
pfkey b via km getspi esp src 192.0.2.9 dst 192.0.2.2 spirange 0x100 0xffffffff
at 1s ping a 192.0.2.2 count 4
at 1s ping b 192.0.2.1 count 4
end 6s
expect a icmp.inhist.echoreply == 4
expect b icmp.inhist.echoreply == 4
""")
    r = run(ipsecsim, "run", "-o", "o", scn.name, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    spis = dict(re.findall(r"^[0-9.]+ (\w+): pfkey km received sadb_getspi:.*?\n"
                           r"\tsa: spi (0x[0-9a-f]+)", r.stdout, re.M | re.S))
    assert set(spis) == {"a", "b"} and spis["a"] != spis["b"], r.stdout
    ids, ivs = {"192.0.2.1": [], "192.0.2.2": []}, {"192.0.2.1": [], "192.0.2.2": []}
    for pkt in rdpcap(str(tmp_path / "o" / "l.pcap")):
        if ESP in pkt:
            ids[pkt[IP].src].append(pkt[IP].id)
            ivs[pkt[IP].src].append(bytes(pkt[ESP].data[:16]))
    a, b = "192.0.2.1", "192.0.2.2"
    assert len(ids[a]) == len(ids[b]) == 8  # 4 requests and 4 replies each
    assert ids[a] != ids[b]
    assert not set(ivs[a]) & set(ivs[b])
    assert len(set(ivs[a])) == 8
