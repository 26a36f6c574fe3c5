#!/bin/sh
# make bench: how fast the simulator runs, in frames and virtual seconds per
# second of wall time.  Reports; asserts nothing (speed is never a test).
set -eu
BIN=${1:-./ipsecsim}
DIR=out/bench
mkdir -p "$DIR"
SCN="$DIR/bench.scn"

. tests/bench-scenarios.sh
routed_scn "$SCN"

# Run a scenario with --stats into DIR/OUT; sets ms (wall time) and lets
# stat NAME sum a counter over every node or link.
timed_run() { # scenario outdir stats-file
	start=$(date +%s%N)
	"$BIN" run -q --stats -o "$2" "$1" >"$3"
	end=$(date +%s%N)
	ms=$(( (end - start) / 1000000 ))
	STATS=$3
}
stat() { awk -v n="$1" '$1 == n {s += $2} END {print s + 0}' "$STATS"; }

timed_run "$SCN" "$DIR" "$DIR/stats.txt"
frames=$(stat link.sent)
fwd=$(stat ip.forward)
echo "bench: 62 virtual seconds, 92 nodes, 51 links"
echo "bench: $frames frames sent, $fwd packets forwarded, in $ms ms of wall time"
[ "$ms" -gt 0 ] && echo "bench: $(( frames * 1000 / ms )) frames/s, $(( 62000 / ms )).$(( 62000 * 10 / ms % 10 ))x real time"
plain_ms=$ms

# The same with a capture on every link: what writing pcaps costs.
CAP="$DIR/bench-capture.scn"
{
	grep -v '^end ' "$SCN" | sed 's/^name bench$/name bench-capture/'
	awk '$1 == "link" {print "capture", $2, $2 ".pcap"}' "$SCN"
	echo "end 62s"
} >"$CAP"
timed_run "$CAP" "$DIR/capture" "$DIR/stats-capture.txt"
bytes=$(cat "$DIR"/capture/*.pcap | wc -c)
echo "bench: the same with a capture on each of its 51 links ($(( bytes / 1000000 )) MB of pcap): $ms ms, x$(awk -v a=$ms -v b=$plain_ms 'BEGIN {printf "%.2f", a / b}') the time without"
rm -f "$DIR"/capture/*.pcap

# TCP through an ESP tunnel (AES-128-GCM): one bulk transfer of 200 MB over
# 1 Gbit/s links, as fast as the simulator moves it.
TCP="$DIR/bench-tcp.scn"
cat >"$TCP" <<'SCN'
name bench-tcp
seed 1
node h1 gw1 gw2 h2
link lan1 h1=10.1.0.10/24 gw1=10.1.0.1/24 delay 100us rate 1Gbit queue 1000 mtu 1400
link wan gw1=192.0.2.1/24 gw2=192.0.2.2/24 delay 1ms rate 1Gbit queue 1000
link lan2 gw2=10.2.0.1/24 h2=10.2.0.20/24 delay 100us rate 1Gbit queue 1000 mtu 1400
sysctl gw1 net.inet.ip.forwarding=1
sysctl gw2 net.inet.ip.forwarding=1
route h1 default via 10.1.0.1
route h2 default via 10.2.0.1
route gw1 10.2.0.0/24 via 192.0.2.2
route gw2 10.1.0.0/24 via 192.0.2.1
sysctl h1 net.inet.tcp.sendspace=1048576
sysctl h2 net.inet.tcp.recvspace=1048576
K="0x2b7e151628aed2a6abf7158809cf4f3cc0a1b2c3:0x3c8f262739bfe3b7bc08269910d05f4dd1b2c3d4"
ipsec gw1 {
	flow esp from 10.1.0.0/24 to 10.2.0.0/24 local 192.0.2.1 peer 192.0.2.2
	esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x1001:0x2001 enc aes-128-gcm enckey $K
}
ipsec gw2 {
	flow esp from 10.2.0.0/24 to 10.1.0.0/24 local 192.0.2.2 peer 192.0.2.1
	esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x1001:0x2001 enc aes-128-gcm enckey $K
}
listen h2 tcp 9 discard
at 1s tcp h1 10.2.0.20:9 send 200000000 as bulk
end 30s
expect bulk acked == 200000000
SCN
timed_run "$TCP" "$DIR/tcp" "$DIR/stats-tcp.txt"
frames=$(stat link.sent)
segs=$(stat tcp.sndtotal)
echo "bench: TCP 200 MB through an AES-128-GCM tunnel on 1 Gbit/s links: $segs segments, $frames frames in $ms ms of wall time"
[ "$ms" -gt 0 ] && echo "bench: TCP $(( 200000 / ms )) MB of data/s, $(( frames * 1000 / ms )) frames/s of wall time"

# OpenBSD's IPsec regress matrix (docs/regress-matrix.md): every target in
# one run; the aim is under 10 s of wall time on one core.
timed_run scenarios/openbsd-regress-ipsec.scn "$DIR/regress" "$DIR/stats-regress.txt"
cases=$(grep -c '^testcase ' scenarios/openbsd-regress-ipsec.scn)
echo "bench: OpenBSD IPsec regress matrix: $cases test cases, $(stat link.sent) frames, in $ms ms of wall time"

# Scale: N nodes as N/2 pairs on their own links, each pair pinging three
# times.  Set-up and run must grow linearly: the per-node figures of the
# three sizes should match (ratios against the smallest printed).
scale() { # nodes
	f="$DIR/scale-$1.scn"
	scale_scn "$1" "$f"
	"$BIN" run -q --rusage -o "$DIR/scale" "$f" 2>&1 >/dev/null | grep '^rusage:'
}
base_setup=; base_run=; base_mem=
for n in 1000 10000 100000; do
	line=$(scale $n)
	val() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
	setup=$(val setup_ms); run=$(val run_ms); eps=$(val events_per_s); rss=$(val maxrss_kib)
	per_setup=$(awk -v t="$setup" -v n=$n 'BEGIN {printf "%.2f", t * 1000 / n}')
	per_run=$(awk -v t="$run" -v n=$n 'BEGIN {printf "%.2f", t * 1000 / n}')
	per_mem=$(awk -v k="$rss" -v n=$n 'BEGIN {printf "%.0f", k * 1024 / n}')
	[ -z "$base_setup" ] && base_setup=$per_setup && base_run=$per_run && base_mem=$per_mem
	echo "bench: scale $(printf '%6d' $n) nodes: set-up $setup ms ($per_setup us a node, x$(awk -v a="$per_setup" -v b="$base_setup" 'BEGIN {printf "%.2f", a / b}')), run $run ms ($per_run us a node, x$(awk -v a="$per_run" -v b="$base_run" 'BEGIN {printf "%.2f", a / b}')), $eps events/s, $per_mem bytes a node (peak RSS, x$(awk -v a="$per_mem" -v b="$base_mem" 'BEGIN {printf "%.2f", a / b}'))"
done

# A hub-and-spoke VPN of 10,000 spokes (20,002 nodes, 10,000 tunnels).
hub_scn 10000 "$DIR/hub.scn"
line=$("$BIN" run -q --rusage -o "$DIR/hub" "$DIR/hub.scn" 2>&1 >/dev/null | grep '^rusage:')
echo "bench: hub-and-spoke VPN, 10000 spokes: $(echo "$line" | sed 's/^rusage: //')"
