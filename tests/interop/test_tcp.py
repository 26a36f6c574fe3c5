"""tshark checks our TCP: its sequence analysis finds nothing to say about
the clean transfers and counts on the lossy links the retransmissions our
senders counted; and the byte stream it reassembles from the captures (the
tunnelled ones decrypted with the run's esp_sa) is exactly what the sender
sent, the stream pattern (byte k is k mod 251).  scapy's checksum checks of
TCP, over both pseudo-headers, are in test_pcaps.py."""
import subprocess

import pytest

from test_ipsec_oracles import esp_sa_lines


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


@pytest.mark.parametrize("scenario,pcap,streams,size", [
    ("tcp-bulk", "l4.pcap", 1, 10_000_000),
    ("tcp-bulk", "l6b.pcap", 1, 10_000_000),
    ("tcp-esp-tunnel", "wan.pcap", 2, 2_000_000),
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
    ("l1.pcap", "10.0.0.1", 15, 3_000_000),   # SACK
    ("l5.pcap", "10.0.5.1", 47, 1_000_000),   # SACK
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
    rexmit = tshark(path, "-Y", f"ip.src == {sender} && tcp.len > 0 && "
                    "(tcp.analysis.retransmission || "
                    "tcp.analysis.fast_retransmission || "
                    "tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order)",
                    "-T", "fields",
                    "-e", "frame.number")
    assert len(rexmit.split()) == retransmitted
    client, _ = follow(path, 0)
    assert client == pattern(size)


def test_echo_over_ipv6_comes_back_whole(scenario_runs):
    path = scenario_runs["tcp-services"] / "l.pcap"
    streams = tshark(path, "-Y", "ipv6 && tcp.port == 7", "-T", "fields", "-e", "tcp.stream")
    stream = int(streams.split()[0])
    client, server = follow(path, stream)
    assert client == pattern(200_000)
    assert server == client


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
    # the two timeouts: cwnd back to one segment, twice
    drops = sum(1 for a, b in zip(rows, rows[1:])
                if int(b["cwnd"]) == 1448 and int(a["cwnd"]) > 1448)
    assert drops == 2
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
