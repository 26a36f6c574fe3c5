#!/bin/sh
# make bench: how fast the simulator runs, in frames and virtual seconds per
# second of wall time.  Reports; asserts nothing (speed is never a test).
set -eu
BIN=${1:-./ipsecsim}
DIR=out/bench
mkdir -p "$DIR"
SCN="$DIR/bench.scn"

# A chain of 10 routers with 20 Mbit/s links, and 40 host pairs on lossy
# wires, all busy for 60 virtual seconds.
{
	echo "name bench"
	echo "seed 1"
	echo "node src dst"
	i=0
	while [ $i -lt 10 ]; do echo "node r$i"; i=$((i + 1)); done
	echo "link c0 src=10.100.0.2/24 r0=10.100.0.1/24 delay 1ms rate 20Mbit"
	i=0
	while [ $i -lt 9 ]; do
		echo "link c$((i + 1)) r$i=10.$((i + 101)).0.1/24 r$((i + 1))=10.$((i + 101)).0.2/24 delay 1ms rate 20Mbit"
		i=$((i + 1))
	done
	echo "link cz r9=10.200.0.1/24 dst=10.200.0.2/24 delay 1ms rate 20Mbit"
	echo "route src default via 10.100.0.1"
	echo "route dst default via 10.200.0.1"
	i=0
	while [ $i -lt 10 ]; do
		echo "sysctl r$i net.inet.ip.forwarding=1"
		[ $i -gt 0 ] && echo "route r$i 10.100.0.0/24 via 10.$((i + 100)).0.1"
		[ $i -lt 9 ] && echo "route r$i 10.200.0.0/24 via 10.$((i + 101)).0.2"
		i=$((i + 1))
	done
	echo "listen dst udp 9000"
	echo "at 1s udp src 10.200.0.2:9000 size 1200 count 60000 interval 1ms quiet"
	p=0
	while [ $p -lt 40 ]; do
		echo "node h${p}a h${p}b"
		echo "link p$p h${p}a=10.0.$p.1/24 h${p}b=10.0.$p.2/24 delay 2ms loss 1%"
		echo "at 1s ping h${p}a 10.0.$p.2 count 6000 interval 10ms quiet"
		p=$((p + 1))
	done
	echo "end 62s"
} >"$SCN"

start=$(date +%s%N)
"$BIN" run -q --stats -o "$DIR" "$SCN" >"$DIR/stats.txt"
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
frames=$(awk '$1 == "link.sent" {s += $2} END {print s}' "$DIR/stats.txt")
fwd=$(awk '$1 == "ip.forward" {s += $2} END {print s}' "$DIR/stats.txt")
echo "bench: 62 virtual seconds, 92 nodes, 51 links"
echo "bench: $frames frames sent, $fwd packets forwarded, in $ms ms of wall time"
[ "$ms" -gt 0 ] && echo "bench: $(( frames * 1000 / ms )) frames/s, $(( 62000 / ms )).$(( 62000 * 10 / ms % 10 ))x real time"
