#!/bin/sh
# make bench-ns3: ipsecsim and ns-3 (tests/bench/ns3/bench_ns3.cc) on the
# same workloads, run alternately, three rounds each, the best kept:
# wall-time and peak-RSS ratios.  Reports; asserts nothing.  What differs
# between the two models is in bench_ns3.cc's header comment.
#   tests/bench-ns3.sh IPSECSIM BENCH_NS3
set -eu
BIN=${1:-./ipsecsim}
NS3=${2:-build/bench-ns3}
DIR=out/bench-ns3
mkdir -p "$DIR"
. tests/bench-scenarios.sh

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
val() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
min() { [ -z "$1" ] || [ "$2" -lt "$1" ] && echo "$2" || echo "$1"; }

# one workload: a scenario file for ipsecsim, the arguments for bench-ns3
compare() { # label scenario ns3-args...
	label=$1 scn=$2
	shift 2
	best_i= best_n= rss_i= rss_n= frames_i= frames_n=
	for round in 1 2 3; do
		t=$(now_ms)
		line=$("$BIN" run -q --rusage --stats -o "$DIR/run" "$scn" 2>&1 >"$DIR/stats.txt" | grep '^rusage:')
		best_i=$(min "$best_i" $(( $(now_ms) - t )))
		rss_i=$(val "$line" maxrss_kib)
		frames_i=$(awk '$1 == "link.sent" {s += $2} END {print s + 0}' "$DIR/stats.txt")
		t=$(now_ms)
		line=$("$NS3" "$@")
		best_n=$(min "$best_n" $(( $(now_ms) - t )))
		rss_n=$(val "$line" maxrss_kib)
		frames_n=$(val "$line" frames)
	done
	echo "bench-ns3: $label: ipsecsim $best_i ms, $rss_i KiB, $frames_i frames; ns-3 $best_n ms, $rss_n KiB, $frames_n frames; ipsecsim $(awk -v a="$best_n" -v b="$best_i" 'BEGIN {printf "%.1f", a / (b ? b : 1)}')x faster, $(awk -v a="$rss_i" -v b="$rss_n" 'BEGIN {printf "%.2f", a / b}') of the memory"
}

routed_scn "$DIR/routed.scn"
compare "routed (92 nodes, 62 s)" "$DIR/routed.scn" routed
plain_i=$best_i plain_n=$best_n
# the same with a pcap of every link (ns-3: one device of each link)
{
	grep -v '^end ' "$DIR/routed.scn"
	awk '$1 == "link" {print "capture", $2, $2 ".pcap"}' "$DIR/routed.scn"
	echo "end 62s"
} >"$DIR/routed-pcap.scn"
mkdir -p "$DIR/ns3-pcap"
compare "routed with a pcap on every link" "$DIR/routed-pcap.scn" routed-pcap "$DIR/ns3-pcap"
bytes_i=$(cat "$DIR"/run/*.pcap | wc -c)
bytes_n=$(cat "$DIR"/ns3-pcap/*.pcap | wc -c)
echo "bench-ns3: what the pcaps cost: ipsecsim +$((best_i - plain_i)) ms for $((bytes_i / 1000000)) MB (x$(awk -v a="$best_i" -v b="$plain_i" 'BEGIN {printf "%.2f", a / b}')), ns-3 +$((best_n - plain_n)) ms for $((bytes_n / 1000000)) MB (x$(awk -v a="$best_n" -v b="$plain_n" 'BEGIN {printf "%.2f", a / b}'))"
rm -f "$DIR"/run/*.pcap "$DIR"/ns3-pcap/*.pcap
for pairs in 1000 10000; do
	scale_scn $((2 * pairs)) "$DIR/pairs-$pairs.scn"
	compare "$pairs pairs pinging ($((2 * pairs)) nodes, 5 s)" "$DIR/pairs-$pairs.scn" pairs $pairs
done
