# The workloads of make bench and make bench-ns3, as scenario files (sourced).

# A chain of 10 routers with 20 Mbit/s links, and 40 host pairs on lossy
# wires, all busy for 60 virtual seconds.
routed_scn() { # file
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
} >"$1"
}

# N nodes as N/2 pairs on their own /30 links, each pair pinging three
# times a second apart; 5 virtual seconds.
scale_scn() { # nodes file
	awk -v n="$1" 'BEGIN {
		print "name scale-" n; print "seed 1"; print "end 5s"
		for (i = 0; i < n / 2; i++) {
			a = int(i / 64); b = (i % 64) * 4
			net = "10." int(a / 256) "." (a % 256) "."
			print "node a" i " b" i
			print "link l" i " a" i "=" net (b + 1) "/30 b" i "=" net (b + 2) "/30"
			print "at 1s ping b" i " " net (b + 1) " count 3 quiet"
		}
	}' >"$2"
}

# A hub-and-spoke VPN: N spoke gateways, each with a host behind it and
# its own link to the hub, an AES-128-GCM tunnel between each gateway and
# the hub, and each host pinging a host behind the hub three times;
# 2N + 2 nodes, 10 virtual seconds.
hub_scn() { # spokes file
	awk -v n="$1" 'BEGIN {
		print "name hub-" n; print "seed 1"
		print "K=\"0x0123456789abcdef0123456789abcdef01234567:0x1123456789abcdef0123456789abcdef01234567\""
		print "node hub hlan"
		print "link hl hub=10.0.0.1/24 hlan=10.0.0.2/24 delay 1ms"
		print "route hlan default via 10.0.0.1"
		print "sysctl hub net.inet.ip.forwarding=1"
		for (i = 0; i < n; i++) {
			b = int(i / 16384); c = int(i / 64) % 256; d = (i % 64) * 4
			w = (128 + b) "." c "."; l = "172." (16 + b) "." c "."
			hubip = "10." w (d + 1); gw = "10." w (d + 2)
			print "node g" i " h" i
			print "link w" i " hub=" hubip "/30 g" i "=" gw "/30 delay 5ms"
			print "link s" i " g" i "=" l (d + 1) "/30 h" i "=" l (d + 2) "/30 delay 1ms"
			print "route h" i " default via " l (d + 1)
			print "route g" i " default via " hubip
			print "route hub " l d "/30 via " gw
			print "sysctl g" i " net.inet.ip.forwarding=1"
			spi = sprintf("0x%x:0x%x", 65536 + i, 131072 + i)
			print "ipsec g" i " {"
			print "\tflow esp from " l d "/30 to 10.0.0.0/24 local " gw " peer " hubip
			print "\tesp tunnel from " gw " to " hubip " spi " spi " enc aes-128-gcm enckey $K"
			print "}"
			flows = flows "\tflow esp from 10.0.0.0/24 to " l d "/30 local " hubip " peer " gw "\n"
			flows = flows "\tesp tunnel from " gw " to " hubip " spi " spi " enc aes-128-gcm enckey $K\n"
			print "at 1s ping h" i " 10.0.0.2 count 3 quiet"
		}
		printf "ipsec hub {\n%s}\n", flows
		print "end 10s"
	}' >"$2"
}
