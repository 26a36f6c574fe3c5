"""tshark checks our TCP: its sequence analysis finds nothing to say about
the clean transfers and counts on the lossy links the retransmissions our
senders counted; and the byte stream it reassembles from the captures (the
tunnelled ones decrypted with the run's esp_sa) is exactly what the sender
sent, the stream pattern (byte k is k mod 251).  scapy's checksum checks of
TCP, over both pseudo-headers, are in test_pcaps.py."""
import subprocess

import pytest

from conftest import SCENARIOS
from test_ipsec_oracles import esp_sa_lines
from test_pcaps import PCAPS

SCENARIO_DIR = SCENARIOS[0].parent


def pattern(n):
    whole = bytes(range(251))
    return (whole * (n // 251 + 1))[:n]


def tshark(pcap, *args, sa_lines=()):
    cmd = ["tshark", "-n", "-r", str(pcap)]
    if sa_lines:
        cmd += ["-o", "esp.enable_encryption_decode:TRUE"]
        for line in sa_lines:
            cmd += ["-o", "uat:esp_sa:" + line]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def count_frames(pcap, flt, sa_lines=()):
    """How many frames of a capture tshark's display filter flt matches."""
    return len(tshark(pcap, "-Y", flt, "-T", "fields", "-e", "frame.number",
                      sa_lines=sa_lines).split())


def follow(pcap, stream, sa_lines=()):
    """The bytes each end of a TCP stream sent, as tshark reassembles them:
    (from the client, from the server)."""
    out = tshark(pcap, "-q", "-z", f"follow,tcp,raw,{stream}", sa_lines=sa_lines)
    sent = [bytearray(), bytearray()]
    lines = out.splitlines()
    body = lines[lines.index(next(l for l in lines if l.startswith("Node 1:"))) + 1:]
    for line in body:
        if line.startswith("="):
            break
        side = 1 if line.startswith("\t") else 0
        sent[side] += bytes.fromhex(line.strip())
    return bytes(sent[0]), bytes(sent[1])


ANALYSIS = "tcp.analysis.flags && !tcp.analysis.window_update"

# What tshark's sequence analysis may remark on, and where.  Every capture
# of every scenario with TCP in it is read (the ESP ones decrypted); the
# remarks of loss (retransmissions, duplicate ACKs, holes) only where the
# scenario loses, reorders or duplicates packets, or drops the too-big
# ones; keepalives and zero windows only where it makes them.
KINDS = ["retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
         "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window",
         "zero_window_probe", "zero_window_probe_ack", "window_full", "keep_alive",
         "keep_alive_ack", "reused_ports"]
LOSS = {"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
        "lost_segment", "ack_lost_segment", "duplicate_ack"}
FLAGS_ALLOWED = {
    "tcp-lossy": LOSS,                                   # 1% and 5% loss
    "tcp-services": LOSS | {"zero_window", "window_full"},  # duplicates, reordering; echo
    "tcp-pmtu": LOSS,                                    # segments too big for the path
    "tcp-pmtu-blackhole": LOSS,                          # dropped without a word
    "tcp-keepalive": {"keep_alive", "keep_alive_ack"},
    "tcp-zero-window": {"zero_window", "zero_window_probe", "zero_window_probe_ack",
                        "window_full"},
    # full-size segments too big for the tunnel until path MTU discovery
    "natt-road-warrior": LOSS,
    "ike-natt": LOSS,  # the same, in the CHILD_SA the road warrior negotiated
    "pf-enc0-binat": LOSS,
    "pf-gateway": LOSS | {"window_full"},
    # the client's window updates in FIN_WAIT_1 carry the FIN again, as
    # BSD's tcp_output sends them: tshark calls them retransmissions
    "ipcomp": LOSS,
    # the same FINs, and the path MTU targets' segments too big for RT
    "openbsd-regress-ipsec": LOSS,
    # the refused client's SYNs again, and the transport SA's first
    # full-size segments, too big once ESP is around them
    "socket-levels": LOSS,
}
# Captures of TCP scenarios where tshark can read no TCP: ESP around
# IPComp, which it does not decompress.
NO_TCP_READABLE = {("ipcomp", "l2.pcap")}
# Captures that may lack their scenario's remarks: b's enc0 taps only what
# IPComp compressed, and the FIN's window updates are too short for that.
QUIET = {("ipcomp", "b-enc0.pcap")}
TCP_PCAPS = [(scn, pcap) for scn, pcap in PCAPS
             if "pflog" not in pcap and (scn, pcap) not in NO_TCP_READABLE and any(w[:1] == ["listen"] and w[2:3] == ["tcp"] for w in
                    (line.split() for line in (SCENARIO_DIR / f"{scn}.scn").read_text()
                     .splitlines()))]


def test_every_tcp_scenario_is_read():
    assert {s for s, _ in TCP_PCAPS} >= set(FLAGS_ALLOWED) | {"tcp-bulk", "tcp-esp-tunnel",
                                                              "tcp-ah-tunnel"}


@pytest.mark.parametrize("scenario,pcap", TCP_PCAPS)
def test_sequence_analysis_remarks_only_on_what_was_done(scenario_runs, scenario, pcap):
    out = scenario_runs[scenario]
    rows = tshark(out / pcap, "-Y", "tcp", "-T", "fields",
                  *[a for k in KINDS for a in ("-e", "tcp.analysis." + k)],
                  sa_lines=esp_sa_lines(out)).splitlines()
    assert rows, "no TCP read in " + pcap
    seen = {k for row in rows for k, v in zip(KINDS, row.split("\t")) if v}
    allowed = FLAGS_ALLOWED.get(scenario, set())
    assert seen <= allowed, f"{pcap}: {sorted(seen - allowed)}"
    if allowed and (scenario, pcap) not in QUIET:
        assert seen, f"{pcap}: nothing of what {scenario} does"


@pytest.mark.parametrize("scenario,pcap,streams,size", [
    ("tcp-bulk", "l4.pcap", 1, 10_000_000),
    ("tcp-bulk", "l6b.pcap", 1, 10_000_000),
    ("tcp-esp-tunnel", "wan.pcap", 2, 2_000_000),
    ("tcp-ah-tunnel", "wan.pcap", 2, 2_000_000),
])
def test_clean_transfers_are_complete_and_unremarkable(scenario_runs, scenario, pcap, streams,
                                                        size):
    out = scenario_runs[scenario]
    sa = esp_sa_lines(out)
    path = out / pcap
    flagged = tshark(path, "-Y", ANALYSIS, sa_lines=sa)
    assert flagged == "", f"tshark's TCP analysis remarks on {pcap}:\n{flagged[:2000]}"
    for stream in range(streams):
        client, server = follow(path, stream, sa)
        assert len(client) == size
        assert client == pattern(size)
        assert server == b""
    # and no other stream
    seen = tshark(path, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream", sa_lines=sa)
    assert set(seen.split()) == {str(k) for k in range(streams)}


@pytest.mark.parametrize("pcap,sender,retransmitted,size", [
    ("l1.pcap", "10.0.0.1", 24, 3_000_000),   # SACK
    ("l5.pcap", "10.0.5.1", 49, 1_000_000),   # SACK
    ("l1n.pcap", "10.0.6.1", 23, 3_000_000),  # NewReno alone
])
def test_lossy_links_retransmit_what_we_counted(scenario_runs, pcap, sender, retransmitted,
                                                size):
    """The links are captured where frames are sent, so the lost ones are in
    the capture too: every byte is there, and each retransmission of data
    is seen as one by tshark (a SYN or FIN sent again is not data: OpenBSD's
    sndrexmitpack, and so ours, leaves it out).  tshark calls a segment sent
    again soon after the original (SACK recovery does that) "out of order"
    rather than a retransmission: both count."""
    path = scenario_runs["tcp-lossy"] / pcap
    rexmit = count_frames(path, f"ip.src == {sender} && tcp.len > 0 && "
                          "(tcp.analysis.retransmission || "
                          "tcp.analysis.fast_retransmission || "
                          "tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order)")
    assert rexmit == retransmitted
    client, _ = follow(path, 0)
    assert client == pattern(size)


def test_echo_over_ipv6_comes_back_whole(scenario_runs):
    path = scenario_runs["tcp-services"] / "l.pcap"
    streams = tshark(path, "-Y", "ipv6 && tcp.port == 7", "-T", "fields", "-e", "tcp.stream")
    stream = int(streams.split()[0])
    client, server = follow(path, stream)
    assert client == pattern(200_000)
    assert server == client


def test_ah_tunnel_carries_everything_in_ah(scenario_runs):
    """The WAN of tcp-ah-tunnel carries the TCP streams only inside AH: as
    many AH packets each way as the gateways counted (ah.output), and
    nothing else but neighbor resolution."""
    path = scenario_runs["tcp-ah-tunnel"] / "wan.pcap"
    assert count_frames(path, "ah && (ip.src == 192.0.2.1 || ipv6.src == 2001:db8:ff::1)") == 2997
    assert count_frames(path, "ah && (ip.src == 192.0.2.2 || ipv6.src == 2001:db8:ff::2)") == 1998
    assert count_frames(path, "!ah && !arp && !icmpv6") == 0
    assert count_frames(path, "tcp && !ah") == 0


def test_zero_window_is_probed(scenario_runs):
    """tshark's view of tcp-zero-window: 13 zero-window probes from a, each
    acknowledged with the window still closed, 14 zero windows in all (the
    13 answers and the ACK that closed it), nothing sent again, and the
    stream is the first 16 KiB of the pattern and the one byte every probe
    carries, the next one (tshark counts it once)."""
    path = scenario_runs["tcp-zero-window"] / "l.pcap"
    probes = "tcp.analysis.zero_window_probe && ip.src == 10.0.0.1 && tcp.len == 1"
    assert count_frames(path, probes) == 13
    assert count_frames(path, "tcp.analysis.zero_window_probe_ack && ip.src == 10.0.0.2") == 13
    assert count_frames(path, "tcp.analysis.zero_window && ip.src == 10.0.0.2") == 14
    again = "tcp.analysis.retransmission || tcp.analysis.fast_retransmission"
    assert count_frames(path, again) == 0
    client, server = follow(path, 0)
    assert client == pattern(16385) and server == b""


def test_trace_is_a_time_series_and_plots(scenario_runs, tmp_path):
    """`tcp ... trace one.csv`: a row each time the sender's state moved, in
    time order, snd_una never going back and ending past the FIN; and
    tools/tcpplot turns it into an SVG with gnuplot."""
    import csv
    import pathlib
    path = scenario_runs["tcp-lossy"] / "one.csv"
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["time", "snd_una", "snd_nxt", "cwnd", "ssthresh", "srtt_ms",
                             "rto_ms", "flight"]
    assert len(rows) > 1000
    times = [float(r["time"]) for r in rows]
    una = [int(r["snd_una"]) for r in rows]
    assert times == sorted(times) and una == sorted(una)
    assert una[-1] == 3_000_002  # SYN, 3,000,000 bytes, FIN
    assert all(int(r["cwnd"]) >= 1448 for r in rows)
    # cwnd back to one segment at each timeout, and only then: none at 1%,
    # the 10 timeouts of the 5% run (five.csv)
    def drops(rows):
        return sum(1 for a, b in zip(rows, rows[1:])
                   if int(b["cwnd"]) == 1448 and int(a["cwnd"]) > 1448)
    assert drops(rows) == 0
    five = list(csv.DictReader((path.parent / "five.csv").open()))
    assert drops(five) == 10
    tool = pathlib.Path(__file__).resolve().parents[2] / "tools" / "tcpplot"
    out = tmp_path / "one.svg"
    r = subprocess.run([str(tool), str(path), str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "cwnd" in svg
    # and it refuses what is not a trace
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    r = subprocess.run([str(tool), str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a tcp trace" in r.stderr


def test_injected_malformed_segments_are_each_dropped_by_name(ipsecsim, tmp_path):
    """Malformed TCP segments made by scapy and injected on a link: each is
    dropped with its own counter, and none draws an answer but the SYN."""
    from scapy.all import ARP, IP, TCP, Ether, Raw, raw, rdpcap, wrpcap
    from conftest import run
    base = """seed 1
node a b
link l a=10.0.0.1/24 b=10.0.0.2/24 delay 1ms
capture l l.pcap
listen b tcp 9
at 1s ping a 10.0.0.2
end 3s
"""
    (tmp_path / "mac.scn").write_text(base)
    r = run(ipsecsim, "run", "-o", "m", "mac.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    frames = rdpcap(str(tmp_path / "m" / "l.pcap"))
    b_mac = next(p[ARP].hwsrc for p in frames if ARP in p and p[ARP].op == 2)
    a_mac = next(p[ARP].hwsrc for p in frames if ARP in p and p[ARP].op == 1)
    ip = IP(src="10.0.0.1", dst="10.0.0.2", proto=6)
    eth = Ether(src=a_mac, dst=b_mac)

    def seg(**kw):
        return eth / ip / TCP(sport=40000, dport=9, seq=1000, **kw)

    bad_sum = seg(flags="S", chksum=0x1234)
    off_low = eth / ip / Raw(raw(TCP(sport=40000, dport=9, flags="S", dataofs=4))[:20])
    off_high = seg(flags="S", dataofs=15)
    opt_past = eth / ip / Raw(bytes(raw(TCP(sport=40000, dport=9, flags="S", dataofs=6))[:20])
                              + bytes([2, 8, 5, 0]))
    syn_fin = seg(flags="SF")
    cut = eth / ip / Raw(raw(TCP(sport=40000, dport=9))[:10])
    rst_nobody = eth / ip / TCP(sport=40000, dport=10, flags="R", seq=5)
    good_syn = seg(flags="S")
    # every checksum right but the first's, over the bytes as they are, so
    # that only the intended fault shows
    import struct
    from scapy.utils import checksum
    pkts = [Ether(raw(p)) for p in (bad_sum, off_low, off_high, opt_past, syn_fin, cut,
                                    rst_nobody, good_syn)]
    out = []
    for i, p in enumerate(pkts):
        b = bytearray(raw(p))
        ihl = (b[14] & 0x0f) * 4
        seg_bytes = b[14 + ihl:]
        if i != 0 and len(seg_bytes) >= 18:
            b[14 + ihl + 16:14 + ihl + 18] = b"\0\0"
            pseudo = bytes([10, 0, 0, 1, 10, 0, 0, 2, 0, 6]) + struct.pack("!H", len(seg_bytes))
            c = checksum(pseudo + bytes(b[14 + ihl:]))
            b[14 + ihl + 16:14 + ihl + 18] = struct.pack("!H", c)
        out.append(Ether(bytes(b)))
    wrpcap(str(tmp_path / "bad.pcap"), out)
    (tmp_path / "t.scn").write_text(base + """\
at 2s inject l bad.pcap from a
expect l link.injected == 8
expect b tcp.rcvbadsum == 1
expect b tcp.rcvbadoff == 1
expect b tcp.rcvshort == 2
expect b tcp.rcvbadopt == 1
expect b tcp.rcvbadflags == 1
expect b tcp.noport == 1
expect b tcp.sndrst == 0
expect a tcp.sndrst == 1
# the eight, and a's reset to b's SYN|ACK (a never sent that SYN)
expect b tcp.rcvtotal == 9
""")
    r = run(ipsecsim, "run", "-o", "o", "t.scn", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # and the one good SYN was answered with a SYN|ACK
    answers = [p for p in rdpcap(str(tmp_path / "o" / "l.pcap"))
               if TCP in p and p[IP].src == "10.0.0.2"]
    assert [str(p[TCP].flags) for p in answers][:1] == ["SA"]
