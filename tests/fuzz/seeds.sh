#!/bin/sh
# Seed corpora for the fuzz harnesses, from what the project ships, into
# DIR/<harness> (existing files are kept, so a corpus grown by `make fuzz`
# stays):
#   scenario  every shipped scenario and include
#   conf      the ipsec.conf files, and every ipsec { } block of the
#             scenarios as a file of its own (testbed grammar)
#   safile    esp_sa lines of every algorithm Wireshark names, and the
#             testbed ipsec.conf files
#   pfkey     the PF_KEY messages that loading each ipsec { } block
#             writes, then REGISTER, DUMP, GET, DELETE and FLUSH (written
#             by fuzz-pfkey itself; needs FUZZ_BUILD)
#   packet    packets sealed with each SA of tests/fuzz/packet.scn (UDP,
#             TCP, ICMP, raw; small and in fragments), the demo's frames,
#             and the RFC vectors' plaintexts sealed
#   ike       the IKE messages of the IKE scenarios' captures (to port 500,
#             and to 4500 behind the marker), and sealed INFORMATIONAL and
#             CREATE_CHILD_SA requests of every kind the daemon takes
#   capture   the demo's and the IPv6 VPN's captures, pcap and pcapng,
#             their plaintext protected with every SPI of
#             tests/fuzz/capture.conf (ipsecsim encap), and the RFC
#             vectors' ESP packets and plaintexts
# The last three run ./ipsecsim and /usr/bin/python3.
set -eu
DIR=${1:?usage: tests/fuzz/seeds.sh DIR [FUZZ_BUILD]}
FUZZ_BUILD=${2:-}
mkdir -p "$DIR/scenario" "$DIR/conf" "$DIR/safile"
for f in scenarios/*.scn scenarios/include/*; do
	cp "$f" "$DIR/scenario/$(basename "$f")"
done
cp scenarios/ipsec-config.conf "$DIR/conf/"
cp tests/data/openbsd-regress-ipsec/ipsec.conf "$DIR/conf/regress-ipsec.conf"
# the ipsec blocks, a file each (their first byte is odd: the testbed
# grammar, as fuzz_conf.c reads it)
awk -v dir="$DIR/conf" '
	/^ipsec [^ ]+ \{$/ { n++; name = FILENAME; gsub(/[\/.]/, "_", name)
			      f = dir "/block-" name "-" n ".conf"; print "#" > f; inblock = 1; next }
	inblock && /^}$/ { inblock = 0; close(f); next }
	inblock { print > f }
' scenarios/*.scn
for f in tests/fuzz/seeds/safile/*; do
	cp "$f" "$DIR/safile/"
done
cp "$DIR"/conf/block-* "$DIR/safile/" 2>/dev/null || true
cp tests/fuzz/capture.conf "$DIR/safile/"
[ -n "$FUZZ_BUILD" ] || exit 0

# pfkey: the blocks that load alone (those that use scenario macros do not)
mkdir -p "$DIR/pfkey"
for f in "$DIR"/conf/block-*; do
	FUZZ_PFKEY_SEEDS="$DIR/pfkey" "$FUZZ_BUILD/fuzz-pfkey" "$f" 2>/dev/null || rm -f "$DIR/pfkey/$(basename "$f")"
done
FUZZ_PFKEY_SEEDS="$DIR/pfkey" "$FUZZ_BUILD/fuzz-pfkey" tests/fuzz/capture.conf

# capture: two scenarios' pcaps, and their plaintext through encap
run=$(mktemp -d "${TMPDIR:-/tmp}/ipsecsim-seeds-XXXXXX")
trap 'rm -rf "$run"' EXIT
mkdir -p "$DIR/capture" "$DIR/packet"
./ipsecsim run -o "$run/demo" scenarios/demo.scn >/dev/null
./ipsecsim run -o "$run/v6" scenarios/ipv6-vpn.scn >/dev/null
# the first 24 frames of each: small seeds keep the executions fast
for f in "$run"/demo/*.pcap "$run"/v6/*.pcap; do
	editcap -r "$f" "$f.cut" 1-24
	mv "$f.cut" "$f"
	cp "$f" "$DIR/capture/$(basename "$(dirname "$f")")-$(basename "$f")"
done
editcap -F pcapng "$run/demo/wan1.pcap" "$DIR/capture/demo-wan1.pcapng"
# plaintext for the transport SAs: between their own addresses
/usr/bin/python3 - "$run" <<'PY'
import struct, sys
def ip4(proto, data):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(data), 7, 0, 64, proto, 0,
                    bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    return h + data
def ip6(proto, data):
    return (struct.pack(">IHBB", 6 << 28, len(data), proto, 64)
            + bytes.fromhex("20010db8" + "00" * 11 + "01") + bytes.fromhex("20010db8" + "00" * 11 + "02")
            + data)
def udp(n):
    return struct.pack(">HHHH", 4000, 9, 8 + n, 0) + bytes(i & 0xff for i in range(n))
for name, mk in (("plain4", ip4), ("plain6", ip6)):
    with open("%s/%s.pcap" % (sys.argv[1], name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, p in enumerate([mk(17, udp(n)) for n in (0, 1, 2, 3, 100, 1400)]):
            f.write(struct.pack("<IIII", i, 0, len(p), len(p)) + p)
PY
# each SPI with plaintext it can carry: transport SAs their own addresses
for job in 0x1001:plain4 0x1005:plain4 0x1010:plain4 0x1003:plain6 0x1012:plain6 \
	0x1002:demo/lan1 0x1006:demo/lan1 0x1004:v6/lan1 0x1011:v6/lan1; do
	./ipsecsim encap --sa tests/fuzz/capture.conf --spi "${job%%:*}" "$run/${job#*:}.pcap" \
		"$DIR/capture/encap-${job%%:*}.pcap" 2>/dev/null
done
./ipsecsim encap --sa tests/fuzz/capture.conf --spi 0x1001 --udpencap "$run/plain4.pcap" \
	"$DIR/capture/encap-0x1001-udp.pcap" 2>/dev/null

# packet: the record format of fuzz_packet.c
/usr/bin/python3 - "$DIR/packet" "$run/demo/lan2.pcap" "$DIR/capture" vectors/*.vec <<'PY'
import struct, sys
out, pcap, capdir, vecs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def rec(op, b):
    return bytes([op]) + struct.pack(">H", len(b)) + b
def udp(port, data):
    return struct.pack(">HHHH", 4000, port, 8 + len(data), 0) + data
def seal(sa, proto, v6, payload):
    return rec(2 | sa << 2, bytes([proto, v6]) + payload)
syn = struct.pack(">HHIIBBHHH", 4000, 7, 1, 0, 0x50, 0x02, 65535, 0, 0)
echo = struct.pack(">BBHHH", 8, 0, 0, 1, 1) + b"ping"
echo6 = struct.pack(">BBHHH", 128, 0, 0, 1, 1) + b"ping"
for sa in range(32):  # more than the fixture has: the harness takes them modulo
    for v6 in (0, 1):
        body = seal(sa, 17, v6, udp(9, b"seed %d" % sa))
        body += seal(sa, 17, v6, udp(7, b"echo me"))
        body += seal(sa, 6, v6, syn)
        body += seal(sa, 58 if v6 else 1, v6, echo6 if v6 else echo)
        body += seal(sa, 59, v6, b"")
        body += seal(sa, 17, v6, udp(9, bytes(range(256)) * 12))  # fragments
        body += rec(3, b"\x05")
        open("%s/sa%02d-%s" % (out, sa, "v6" if v6 else "v4"), "wb").write(body)
# the demo's frames, as IP packets from a (op 1) and as frames (op 0)
data = open(pcap, "rb").read()
off, frames = 24, []
while off + 16 <= len(data):
    caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
    frames.append(data[off + 16:off + 16 + caplen])
    off += 16 + caplen
open(out + "/demo-frames", "wb").write(b"".join(rec(0, f) for f in frames[:40]))
open(out + "/demo-ip", "wb").write(b"".join(rec(1, f[14:]) for f in frames[:40]))
# the RFC vectors: their ESP packets behind an IPv4 header, their plaintexts
esp, plain = [], []
for v in vecs:
    for line in open(v):
        k, _, val = line.partition(": ")
        if k == "esp":
            e = bytes.fromhex(val.strip())
            plain_hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(e), 1, 0, 64, 50, 0,
                                    bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
            esp.append(plain_hdr + e)
        elif k == "plaintext" and val[:1] in "46":
            plain.append(bytes.fromhex(val.strip()))
for name, pkts in (("vectors-esp", esp), ("vectors-plain", plain)):
    with open("%s/%s.pcap" % (capdir, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", i, 0, len(p), len(p)) + p)
# each plaintext's upper layer sealed with every SA in turn
body = b""
for i, p in enumerate(p for p in plain if p[0] >> 4 == 4):
    hl = (p[0] & 15) * 4
    body += seal(i, p[9], 0, p[hl:])
open(out + "/vectors-sealed", "wb").write(body)
PY

# ike: the record format of fuzz_ike.c
mkdir -p "$DIR/ike"
for sc in ike-tunnel ike-negotiation ike-natt; do
	./ipsecsim run -o "$run/$sc" "scenarios/$sc.scn" >/dev/null
done
/usr/bin/python3 - "$DIR/ike" "$run" <<'PY'
import struct, sys
out, run = sys.argv[1], sys.argv[2]
def rec(op, b):
    return bytes([op]) + struct.pack(">H", len(b)) + b
def pl(np, body):  # a payload: the next one's type, then its own
    return bytes([np, 0]) + struct.pack(">H", 4 + len(body)) + body
def ike_msgs(pcap):
    data, off, msgs = open(pcap, "rb").read(), 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        f = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        hl = (f[14] & 15) * 4
        udp = f[14 + hl:]
        sport, dport = struct.unpack(">HH", udp[:4])
        body = udp[8:]
        if dport == 500 or sport == 500:
            msgs.append(rec(0, body))
        elif dport == 4500 and body[:4] == bytes(4):
            msgs.append(rec(1, body[4:]))
    return msgs
for sc in ("ike-tunnel", "ike-negotiation", "ike-natt"):
    msgs = ike_msgs("%s/%s/wan.pcap" % (run, sc))
    open("%s/%s" % (out, sc), "wb").write(b"".join(msgs[:24]))
    for i, m in enumerate(msgs[:12]):
        open("%s/%s-%02d" % (out, sc, i), "wb").write(m + rec(3, b"\x10"))
N, D, SA, KE, NONCE, TSI, TSR = 41, 42, 33, 34, 40, 44, 45
def sealed(x, first, chain):
    return rec(2, bytes([x, first]) + chain)
def prop(proto, spi, xfs):
    t = b""
    for i, (ty, tid, kl) in enumerate(xfs):
        attr = struct.pack(">HH", 0x800e, kl) if kl else b""
        t += struct.pack(">BBHBBH", 0 if i == len(xfs) - 1 else 3, 0, 8 + len(attr), ty, 0, tid) + attr
    return struct.pack(">BBHBBBB", 0, 0, 8 + len(spi) + len(t), 1, proto, len(spi), len(xfs)) + spi + t
ts = struct.pack(">B3x", 1) + struct.pack(">BBHHH", 7, 0, 16, 0, 65535) + bytes([192, 0, 2, 1]) * 2
tsb = struct.pack(">B3x", 1) + struct.pack(">BBHHH", 7, 0, 16, 0, 65535) + bytes([192, 0, 2, 2]) * 2
nonce = bytes(range(32))
ke19 = struct.pack(">HH", 19, 0) + bytes(64)
ke31 = struct.pack(">HH", 31, 0) + bytes(range(1, 33))
child = prop(3, b"\x00\x00\x12\x34", [(1, 20, 128), (4, 19, 0), (5, 0, 0)])
ike = prop(1, bytes(range(8)), [(1, 20, 128), (2, 5, 0), (4, 31, 0)])
rekey_sa = struct.pack(">BBH", 3, 4, 16393) + b"\x00\x00\x00\x01"
seeds = {
    "info-empty": sealed(37, 0, b""),
    "info-delete-esp": sealed(37, D, pl(0, struct.pack(">BBH", 3, 4, 2) + b"\x11\x22\x33\x44" + b"\x00\x00\x01\x00")),
    "info-delete-ike": sealed(37, D, pl(0, struct.pack(">BBH", 1, 0, 0))),
    "info-notify": sealed(37, N, pl(0, struct.pack(">BBH", 0, 0, 16384))),
    "ccsa-rekey-child": sealed(36, N, pl(SA, rekey_sa) + pl(NONCE, child) + pl(KE, nonce) + pl(TSI, ke19) + pl(TSR, ts) + pl(0, tsb)),
    "ccsa-rekey-ike": sealed(36, SA, pl(NONCE, ike) + pl(KE, nonce) + pl(0, ke31)),
    "ccsa-new-child": sealed(36, SA, pl(NONCE, child) + pl(TSI, nonce) + pl(TSR, ts) + pl(0, tsb)),
    "response-info": rec(6, bytes([37, 0])),
}
for name, body in seeds.items():
    open("%s/%s" % (out, name), "wb").write(body + rec(3, b"\x50"))
PY
