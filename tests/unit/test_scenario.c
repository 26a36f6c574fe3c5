/* The scenario language: value parsers, and file:line errors for bad input. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sim/scenario.h"
#include "../../stack/util.h"
#include "unit.h"

static void test_time_parser(void)
{
	static const struct {
		const char *in;
		int ok;
		uint64_t ns;
	} rows[] = {
	    {"1s", 0, 1000000000},
	    {"1.5s", 0, 1500000000},
	    {"250ms", 0, 250000000},
	    {"1us", 0, 1000},
	    {"7ns", 0, 7},
	    {"0", 0, 0},
	    {"0.000000001s", 0, 1},
	    {"2.5ms", 0, 2500000},
	    {"5", -1, 0},
	    {"1.0000000001s", -1, 0},
	    {"0.5ns", -1, 0},
	    {"-1s", -1, 0},
	    {"1m", 0, 60000000000ULL},
	    {"1.5m", 0, 90000000000ULL},
	    {"2h", 0, 7200000000000ULL},
	    {"307445734m", 0, 18446744040000000000ULL},
	    {"307445735m", -1, 0},
	    {"1 m", -1, 0},
	    {"1min", -1, 0},
	    {"s", -1, 0},
	    {"1.s", -1, 0},
	    {"99999999999999999999s", -1, 0},
	    /* the largest time, and one ns past it: refused, not wrapped */
	    {"18446744073.709551615s", 0, UINT64_MAX},
	    {"18446744073.709551616s", -1, 0},
	    {"18446744073709551615ns", 0, UINT64_MAX},
	    {"18446744073709551616ns", -1, 0},
	    {"18446744073709.551615ms", 0, UINT64_MAX},
	    {"18446744073709.551616ms", -1, 0},
	    {"18446744073709551.616us", -1, 0},
	    {"20000000000ns", 0, 20000000000ULL},
	    {"0.0000000001s", -1, 0},
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 12345;
		int r = scn_parse_time(rows[i].in, &v);
		CU_ASSERT_EQUAL(r, rows[i].ok);
		if (r == 0 && v != rows[i].ns)
			fprintf(stderr, "\ntime %s: got %llu\n", rows[i].in, (unsigned long long)v);
		if (r == 0)
			CU_ASSERT_EQUAL(v, rows[i].ns);
	}
}

static void test_uint_parser(void)
{
	static const struct {
		const char *in;
		int ok;
		uint64_t v;
	} rows[] = {{"0", 0, 0},      {"010", 0, 10}, {"0x10", 0, 16}, {"65535", 0, 65535},
		    {"65536", -1, 0}, {"-1", -1, 0},  {"", -1, 0},     {"0x", -1, 0},
		    {"1e3", -1, 0},   {" 1", -1, 0},  {"0xfg", -1, 0}};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 7;
		CU_ASSERT_EQUAL(scn_parse_uint(rows[i].in, 65535, &v), rows[i].ok);
		if (rows[i].ok == 0)
			CU_ASSERT_EQUAL(v, rows[i].v);
	}
}

static void test_percent_and_rate_parsers(void)
{
	static const struct {
		const char *in;
		int ok;
		uint32_t ppb;
	} pct[] = {{"10%", 0, 100000000}, {"0.5%", 0, 5000000}, {"100%", 0, 1000000000},
		   {"0%", 0, 0},          {"0.0000001%", 0, 1}, {"101%", -1, 0},
		   {"10", -1, 0},         {"%", -1, 0},         {"0.00000001%", -1, 0},
		   {"1844674407370.9551616%", -1, 0}};
	for (unsigned i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
		uint32_t v = 7;
		CU_ASSERT_EQUAL(scn_parse_percent(pct[i].in, &v), pct[i].ok);
		if (pct[i].ok == 0)
			CU_ASSERT_EQUAL(v, pct[i].ppb);
	}
	static const struct {
		const char *in;
		int ok;
		uint64_t bps;
	} rate[] = {{"1Mbit", 0, 1000000}, {"1.5Mbit", 0, 1500000},  {"64kbit", 0, 64000},
		    {"10bit", 0, 10},      {"1Gbit", 0, 1000000000}, {"0bit", -1, 0},
		    {"1Mbps", -1, 0},      {"fast", -1, 0},
		    /* past 2^64 thousandths: refused, not wrapped to a small rate */
		    {"18446744073709551.615bit", 0, 18446744073709551ULL},
		    {"18446744073709551.616bit", -1, 0},
		    {"18446744073709551616bit", -1, 0}};
	for (unsigned i = 0; i < sizeof(rate) / sizeof(rate[0]); i++) {
		uint64_t v = 7;
		CU_ASSERT_EQUAL(scn_parse_rate(rate[i].in, &v), rate[i].ok);
		if (rate[i].ok == 0)
			CU_ASSERT_EQUAL(v, rate[i].bps);
	}
}

/* Load text as a scenario; returns the error output (malloc'd) and whether
 * the load failed. */
static char *load_text(const char *text, int *failed, const struct scn_define *defs, unsigned ndefs)
{
	const char *path = "out/unit/t.scn";
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	char *err = NULL, *out = NULL;
	size_t elen = 0, olen = 0;
	FILE *ef = open_memstream(&err, &elen), *of = open_memstream(&out, &olen);
	struct scn_options o = {
	    .outdir = "out/unit/t", .out = of, .err = ef, .defines = defs, .ndefines = ndefs};
	struct scenario *sc = scenario_load(path, &o);
	*failed = sc == NULL;
	scenario_free(sc);
	fclose(ef);
	fclose(of);
	free(out);
	return err;
}

#define HEX40 "0000000000000000000000000000000000000000"
#define HEX24 "000000000000000000000000"

static void test_errors_name_file_and_line(void)
{
	static const struct {
		const char *text;
		const char *msg; /* the whole first line of the error output */
	} rows[] = {
	    {"node a\nnode a\n", "out/unit/t.scn:2: 'a' is already defined"},
	    {"node a b\nlink l a b=10.0.0.2/24\n",
	     "out/unit/t.scn:2: endpoint 'a' has no address: write a=ADDR/LEN (such as "
	     "a=10.0.0.1/24), or a= for an interface without one"},
	    {"node a b\nlink l a.em0=10.0.0.1 b=10.0.0.2/24\n",
	     "out/unit/t.scn:2: address '10.0.0.1' needs its prefix length (such as 10.0.0.1/24)"},
	    {"node a b\nlink l a=2001:db8::1 b=2001:db8::2/64\n",
	     "out/unit/t.scn:2: address '2001:db8::1' needs its prefix length (such as "
	     "2001:db8::1/64)"},
	    {"link l1 a=10.0.0.1/24 b=10.0.0.2/24\n", "out/unit/t.scn:1: unknown node 'a'"},
	    {"node a\n\n# comment\nfrobnicate 1\n",
	     "out/unit/t.scn:4: unknown statement 'frobnicate'"},
	    {"seed x\n", "out/unit/t.scn:1: bad value 'x' for seed: 0 to 18446744073709551615"},
	    {"end 5\n", "out/unit/t.scn:1: bad value '5' for end: "
	     "a time with its unit, ns, us, ms, s, m or h, written right after the number (such as 1.5s, 250ms or 10m), at most 18446744073.709551615s"},
	    {"X=$Y\n", "out/unit/t.scn:1: macro 'Y' not defined"},
	    {"node a\ninclude nothere.scn\n",
	     "out/unit/t.scn:2: cannot open out/unit/nothere.scn: No such file or directory"},
	    {"node \"a\n", "out/unit/t.scn:1: unterminated quote"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24 loss 200%\n",
	     "out/unit/t.scn:2: bad value '200%' for loss: a percentage from 0% to 100% (such "
	     "as 0.5%), to 7 decimals"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24 speed 1\n",
	     "out/unit/t.scn:2: unknown link parameter 'speed'"},
	    {"node a\nexpect a ip.nosuch == 1\n",
	     "out/unit/t.scn:2: unknown counter 'ip.nosuch' (see docs/counters.md)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nexpect l esp.input == 1\n",
	     "out/unit/t.scn:3: 'esp.input' is a node counter, and l is a link: expect NODE "
	     "esp.input OP VALUE (a link counts link.* only)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nexpect a link.sent == 1\n",
	     "out/unit/t.scn:3: 'link.sent' is a link counter, and a is a node: expect LINK "
	     "link.sent OP VALUE"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nexpect l link.nosuch == 1\n",
	     "out/unit/t.scn:3: unknown link counter 'link.nosuch' (a link counts link.*: see "
	     "docs/counters.md)"},
	    {"node a\nexpect a ip.total => 1\n",
	     "out/unit/t.scn:2: unknown comparison '=>' (== != < <= > >=)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nroute a default via 10.9.9.9\n",
	     "out/unit/t.scn:3: gateway 10.9.9.9 is not on a network of a"},
	    {"node a\nsysctl a net.inet.ip.forwarding=2\n",
	     "out/unit/t.scn:2: net.inet.ip.forwarding: bad value '2': an integer from 0 to 1"},
	    /* found by fuzz-scenario: a bare expect read past its words */
	    {"node a\nexpect\n",
	     "out/unit/t.scn:2: usage: expect NODE|LINK COUNTER OP VALUE [since TIME], expect NODE "
	     "udp|raw PORT|PROTO packets|bytes OP VALUE, expect NODE ipsec sas|flows OP VALUE, "
	     "expect NODE keymgr acquires|negotiations|rekeys|deletes|failures OP VALUE, expect "
	     "NODE ike established|children|auth_failures|... OP VALUE, expect "
	     "NODE pfkey SOCKET received [TYPE [SATYPE]] [FILTER...] OP VALUE, or expect pfkey "
	     "LABEL errno OP VALUE"},
	    {"node a\nsysctl a net.inet.ip.nosuch=1\n",
	     "out/unit/t.scn:2: net.inet.ip.nosuch: unknown sysctl"},
	    {"node a\nat 1s udp a 2001:db8::2:9 data x\n",
	     "out/unit/t.scn:2: bad destination '2001:db8::2:9' (ADDR:PORT, or [ADDR]:PORT for "
	     "IPv6; port 1 to 65535)"},
	    {"node a\nat 1s udp a [10.0.0.1]:9 data x\n",
	     "out/unit/t.scn:2: bad destination '[10.0.0.1]:9' (ADDR:PORT, or [ADDR]:PORT for "
	     "IPv6; port 1 to 65535)"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nlink m a=10.0.0.1/24 "
	     "b=10.0.0.2/24\nat 1s ping a fe80::1\n",
	     "out/unit/t.scn:4: a link-local destination needs its interface: fe80::1%IFACE"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a fe80::1%em9\n",
	     "out/unit/t.scn:3: a has no interface 'em9'"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2%eth0\n",
	     "out/unit/t.scn:3: bad address '2001:db8::2%eth0'"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s advertise a.eth0\n",
	     "out/unit/t.scn:3: a.eth0 has no IPv6 address to advertise from"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s advertise a lifetime "
	     "9001\n",
	     "out/unit/t.scn:3: usage: advertise NODE[.IFACE] [lifetime SECONDS] (0 to 9000 "
	     "seconds)"},
	    {"node a\nat 1s ping a 10.0.0.300\n", "out/unit/t.scn:2: bad address '10.0.0.300'"},
	    {"node a b\nlink l a=10.0.0.1/24,fe80::/10x b=10.0.0.2/24\n",
	     "out/unit/t.scn:2: bad address 'fe80::/10x' (want ADDR/LEN, IPv4 or IPv6)"},
	    {"node a b\nlink l a=2001:db8::1/64,2001:db8::1/64 b=2001:db8::2/64\n",
	     "out/unit/t.scn:2: node a already has address 2001:db8::1/64"},
	    {"node a b\nlink l a=ff02::1/64 b=2001:db8::2/64\n",
	     "out/unit/t.scn:2: bad address 'ff02::1/64' (want ADDR/LEN, IPv4 or IPv6)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nroute a 2001:db8::/32 via 10.0.0.2\n",
	     "out/unit/t.scn:3: prefix 2001:db8::/32 and gateway 10.0.0.2 are of different "
	     "families"},
	    {"node a\nat 1s dance a\n", "out/unit/t.scn:2: unknown action 'dance' (ping, udp, "
					"raw, tcp, expect, show, pfkey, setsockopt, replay, "
					"inject, sysctl, advertise, impair)"},
	    /* A continued statement is reported at its first line. */
	    {"node a b\nlink l a=10.0.0.1/24 \\\n  b=10.0.0.2/24 \\\n  delay fast\n",
	     "out/unit/t.scn:2: bad value 'fast' for delay: "
	     "a time with its unit, ns, us, ms, s, m or h, written right after the number (such as 1.5s, 250ms or 10m), at most 18446744073.709551615s"},
	    {"node a\nexpect a udp 9 packets == 1\n",
	     "out/unit/t.scn:2: no 'listen a udp 9' before this line"},
	    {"node a\ncapture a.eth7 x.pcap\n", "out/unit/t.scn:2: node a has no interface eth7"},
	    {"end 10s\nnode a\nat 20s expect a ip.total == 0\n",
	     "out/unit/t.scn:3: 20s is after the end of the run (end 10s)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s ping a 10.0.0.2 count 08x\n",
	     "out/unit/t.scn:3: bad value '08x' for count: 1 to 1000000000"},
	    /* ping's IPv6 extension headers */
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2 hbh "
	     "0x3e:61\n",
	     "out/unit/t.scn:3: bad option '0x3e:61': TYPE[:LEN], type 1 to 255, at most 60 "
	     "data bytes, 8 options a header"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2 dstopt "
	     "0\n",
	     "out/unit/t.scn:3: bad option '0': TYPE[:LEN], type 1 to 255, at most 60 "
	     "data bytes, 8 options a header"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2 rthdr "
	     "2001:db8::9,10.0.0.1\n",
	     "out/unit/t.scn:3: bad routing header '2001:db8::9,10.0.0.1': up to 8 IPv6 addresses"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2 hbh 1 "
	     "hbh 1 hbh 1 hbh 1 "
	     "hbh 1 hbh 1 hbh 1 hbh 1 hbh 1\n",
	     "out/unit/t.scn:3: bad option '1': TYPE[:LEN], type 1 to 255, at most 60 "
	     "data bytes, 8 options a header"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s ping a 10.0.0.2 hbh 0x1e\n",
	     "out/unit/t.scn:3: hbh, dstopt and rthdr are IPv6 extension headers"},
	    {"node a b\nlink l a=2001:db8::1/64 b=2001:db8::2/64\nat 1s ping a 2001:db8::2 rthdr\n",
	     "out/unit/t.scn:3: 'rthdr' needs a value"},
	    /* ipsec blocks: errors carry the scenario file's own line numbers. */
	    {"node a\n\nipsec a {\n  flow esp from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.2\n"
	     "  esp from 192.0.2.1 to 192.0.2.2 spi 0x1000 authkey 0x00 enckey 0x00\n}\n",
	     "out/unit/t.scn:5: wrong authentication key length, needs to be 256 bits"},
	    {"node a\nipsec a {\n  flow esp from 10.1.0.0/16 to any peer 192.0.2.2\n",
	     "out/unit/t.scn:2: ipsec block is never closed: a line holding only '}' ends it"},
	    {"node a\nipsec b {\n}\n", "out/unit/t.scn:2: unknown node 'b'"},
	    {"node a\nipsec a\n",
	     "out/unit/t.scn:2: usage: ipsec NODE { ... } or ipsec NODE file FILE"},
	    {"node a\nipsec a file nothere.conf\n",
	     "out/unit/t.scn:2: cannot open out/unit/nothere.conf: No such file or directory"},
	    {"node a\nipsec a {\n  ike esp from 10.0.0.0/8 to 10.1.0.0/16\n}\n",
	     "out/unit/t.scn:3: ike rules are not supported: ipsecsim has no IKE daemon; "
	     "use flow rules and manually keyed SA rules"},
	    /* Parsed, refused by the kernel: aesctr takes 20 to 36 bytes in the
	     * grammar, but PF_KEY only 20, 28 or 36. */
	    {"node a\nipsec a {\n  esp from 192.0.2.1 to 192.0.2.2 spi 0x100:0x101 enc aesctr "
	     "auth hmac-sha1 authkey 0x" HEX40 ":0x" HEX40 " enckey 0x" HEX40 HEX24 ":0x" HEX40
	     "\n}\n",
	     "out/unit/t.scn:3: a's kernel refused rule 0: Invalid argument"},
	    /* The same flow twice replaces it, as X_ADDFLOW does; an SA twice is
	     * refused. */
	    {"node a\nipsec a {\n  flow esp from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.2\n"
	     "  flow esp from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.2\n"
	     "  ah from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 authkey 0x" HEX40 "\n"
	     "  ah from 192.0.2.1 to 192.0.2.2 spi 0x100 auth hmac-sha1 authkey 0x" HEX40 "\n}\n",
	     "out/unit/t.scn:6: a's kernel refused rule 5: File exists"},
	    {"node a\nshow a sas\n",
	     "out/unit/t.scn:2: show what? sa, flow or all [keys] (ipsecctl), rules, states or "
	     "info (pfctl), memory, bridge, or ike (ikectl show sa), not 'sas'"},
	    {"node a\nshow a sa key\n",
	     "out/unit/t.scn:2: usage: show NODE sa|flow|all [keys], show NODE rules|states|info, "
	     "show NODE memory, show NODE bridge, or show NODE ike"},
	    {"node a\nshow a rules keys\n",
	     "out/unit/t.scn:2: show what? sa, flow or all [keys] (ipsecctl), rules, states or "
	     "info (pfctl), memory, bridge, or ike (ikectl show sa), not 'keys'"},
	    {"node a\nshow a memory keys\n",
	     "out/unit/t.scn:2: show what? sa, flow or all [keys] (ipsecctl), rules, states or "
	     "info (pfctl), memory, bridge, or ike (ikectl show sa), not 'keys'"},
	    {"node a\nexpect a ipsec policies == 1\n",
	     "out/unit/t.scn:2: usage: expect NODE ipsec sas|flows OP VALUE"},
	    /* pfkey statements and their expectations */
	    {"node a\npfkey a frob esp\n",
	     "out/unit/t.scn:2: unknown PF_KEY message 'frob' (getspi, update, add, delete, get, "
	     "acquire, register, expire, flush, dump, x_promisc, x_addflow, x_delflow, x_grpspis, "
	     "x_askpolicy, or type N)"},
	    {"node a\npfkey a add esp spi\n", "out/unit/t.scn:2: 'spi' needs a value"},
	    {"node a\npfkey a add esp spi 0x100000000\n",
	     "out/unit/t.scn:2: bad value '0x100000000' for spi: 0 to 4294967295"},
	    {"node a\npfkey a add esp enc rot13\n",
	     "out/unit/t.scn:2: unknown encryption algorithm 'rot13'"},
	    {"node a\npfkey a add esp authkey 0x123\n",
	     "out/unit/t.scn:2: bad hex for authkey: an even number of digits, at most 256 bytes"},
	    {"node a\npfkey a add esp flags tunnel,fast\n",
	     "out/unit/t.scn:2: unknown SA flag 'fast' (tunnel, udpencap, esn, pfs, chaindel, or a "
	     "number)"},
	    {"node a\npfkey a x_addflow esp flow 10.0.0.0/8 any\n",
	     "out/unit/t.scn:2: bad prefix 'any' for flow"},
	    {"node a\npfkey a add esp lifetime later bytes 5\n",
	     "out/unit/t.scn:2: lifetime current|hard|soft|lastuse, not 'later'"},
	    {"node a\npfkey a add esp color blue\n",
	     "out/unit/t.scn:2: unknown pfkey item 'color' (see docs/scenario-language.md)"},
	    {"node a\npfkey a raw 02 03\n", "out/unit/t.scn:2: raw takes one hex string"},
	    {"node a\npfkey a via km flush\n",
	     "out/unit/t.scn:2: no 'listen a pfkey km' before this line"},
	    {"node a\npfkey a as x flush\npfkey a as x flush\n",
	     "out/unit/t.scn:3: pfkey label 'x' is already used"},
	    {"node a\nlisten a pfkey km register rsvpx\n",
	     "out/unit/t.scn:2: unknown SA type 'rsvpx' (ah, esp, ipip, tcpmd5, ipcomp)"},
	    {"node a\nlisten a pfkey km\nlisten a pfkey km\n",
	     "out/unit/t.scn:3: a already has a pfkey socket 'km'"},
	    {"node a\nlisten a pfkey km loud\n", "out/unit/t.scn:2: usage: listen NODE pfkey NAME "
						 "[register SATYPE]... [promisc] [print]"},
	    {"node a\nexpect pfkey nolabel errno == 0\n",
	     "out/unit/t.scn:2: no 'pfkey ... as nolabel' before this line"},
	    {"node a\npfkey a as x flush\nexpect pfkey x errno == EWHAT\n",
	     "out/unit/t.scn:3: bad value 'EWHAT': an errno name (such as EEXIST) or number (0 "
	     "to 255)"},
	    {"node a\nexpect a pfkey km received == 1\n",
	     "out/unit/t.scn:2: no 'listen a pfkey km' before this line"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km received frob == 1\n",
	     "out/unit/t.scn:3: unknown filter 'frob': a message type, then soft, hard, spi, seq, "
	     "src, dst, enc, auth, errno, or a lifetime such as hard-bytes"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km got == 1\n",
	     "out/unit/t.scn:3: usage: expect NODE pfkey SOCKET received [TYPE [SATYPE]] "
	     "[FILTER...] OP VALUE"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km received expire hard-bytes == 1\n",
	     "out/unit/t.scn:3: 'hard-bytes' needs a value"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km received src 10.0.0 == 1\n",
	     "out/unit/t.scn:3: bad address '10.0.0' for src"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km received enc rot13 == 1\n",
	     "out/unit/t.scn:3: unknown enc 'rot13'"},
	    {"node a\nlisten a pfkey km\nexpect a pfkey km received spi 0x100000000 == 1\n",
	     "out/unit/t.scn:3: bad value '0x100000000' for spi: 0 to 4294967295"},
	    {"node a\nsysctl a net.inet.ip.ipsec-enc-alg=des\n",
	     "out/unit/t.scn:2: net.inet.ip.ipsec-enc-alg: not an algorithm of aes, aesctr, 3des, "
	     "blowfish, cast128"},
	    {"node a\nsysctl a net.inet.ip.ipsec-auth-alg=12\n",
	     "out/unit/t.scn:2: net.inet.ip.ipsec-auth-alg: not an algorithm of hmac-sha1, "
	     "hmac-ripemd160, hmac-md5, "
	     "hmac-sha2-256, hmac-sha2-384, hmac-sha2-512"},
	    {"node a\nsysctl a net.inet.ip.ipsec-enc-alg=\n",
	     "out/unit/t.scn:2: net.inet.ip.ipsec-enc-alg: not an algorithm of aes, aesctr, 3des, "
	     "blowfish, cast128"},
	    /* key managers */
	    {"node a b\nkeymgr a\n", "out/unit/t.scn:2: a scenario with a key manager needs an "
				     "'end TIME'"},
	    {"node a b\nkeymgr z\nend 1s\n", "out/unit/t.scn:2: unknown node 'z'"},
	    {"node a b\nkeymgr a delay soon\nend 1s\n",
	     "out/unit/t.scn:2: bad value 'soon' for delay: "
	     "a time with its unit, ns, us, ms, s, m or h, written right after the number (such as 1.5s, 250ms or 10m), at most 18446744073.709551615s"},
	    {"node a b\nkeymgr a sa b esp enc rot13\nend 1s\n",
	     "out/unit/t.scn:2: unknown enc 'rot13'"},
	    {"node a b\nkeymgr a sa b gre\nend 1s\n",
	     "out/unit/t.scn:2: unknown protocol 'gre' (esp or ah)"},
	    {"node a b\nkeymgr a sa b esp lifetime soft\nend 1s\n",
	     "out/unit/t.scn:2: 'lifetime soft' needs bytes, time or usetime"},
	    {"node a b\nkeymgr a sa b esp lifetime hard time 1500ms\nend 1s\n",
	     "out/unit/t.scn:2: bad lifetime '1500ms': whole seconds, 0 to 18446744073, as a "
	     "bare number or with its unit, ns, us, ms, s, m or h, written right after the number "
	     "(such as 3600, 90s or 10m; PF_KEY counts in seconds)"},
	    {"node a b\nkeymgr a sa b esp lifetime hard time 10 sec\nend 1s\n",
	     "out/unit/t.scn:2: bad lifetime '10 sec': whole seconds, 0 to 18446744073, as a "
	     "bare number or with its unit, ns, us, ms, s, m or h, written right after the number "
	     "(such as 3600, 90s or 10m; PF_KEY counts in seconds)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24 delay 2 msec\n",
	     "out/unit/t.scn:2: bad value '2 msec' for delay: a time with its unit, ns, us, ms, s, "
	     "m or h, written right after the number (such as 1.5s, 250ms or 10m), at most "
	     "18446744073.709551615s"},
	    {"node a b\nkeymgr a sa b esp enckey 0x0102030405060708090a0b0c0d0e0f1011121314\nend "
	     "1s\n",
	     "out/unit/t.scn:2: enckey: aes takes 16, 24 or 32 bytes, not 20"},
	    {"node a b\nkeymgr a sa b esp enckey 0x0102030405060708090a0b0c0d0e0f10\nend 1s\n",
	     "out/unit/t.scn:2: give every key the algorithms take, or none (random keys)"},
	    {"node a b\nkeymgr a sa b esp seq 0x100000000\nend 1s\n",
	     "out/unit/t.scn:2: seq above 0xffffffff needs esn"},
	    {"node a b\nkeymgr a sa b esp spi 0xff\nend 1s\n",
	     "out/unit/t.scn:2: bad spi '0xff' (0x100 to 0xffffffff)"},
	    {"node a b\nexpect a keymgr rekeys == 1\n",
	     "out/unit/t.scn:2: no 'keymgr a' before this line"},
	    {"node a b\nkeymgr a\nexpect a keymgr rekeyz == 1\nend 1s\n",
	     "out/unit/t.scn:3: usage: expect NODE keymgr "
	     "acquires|negotiations|rekeys|deletes|failures OP VALUE"},
	    /* attacks */
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ndrop m 1\n",
	     "out/unit/t.scn:3: unknown link 'm'"},
	    {"node a b c\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ndrop l from c 1\n",
	     "out/unit/t.scn:3: c is not on link l"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ndrop l esp 0\n",
	     "out/unit/t.scn:3: bad frame number '0' (1 is the first)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ndrop l esp spi 0x100000000 1\n",
	     "out/unit/t.scn:3: bad value '0x100000000' for spi: 0 to 4294967295"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ndrop l udp 1 2\n",
	     "out/unit/t.scn:3: usage: drop LINK [from NODE] [FILTER] N"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ntamper l esp 1\n",
	     "out/unit/t.scn:3: usage: tamper LINK [from NODE] [FILTER] N offset K [xor V]"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\ntamper l 1 offset 3 xor 0\n",
	     "out/unit/t.scn:3: bad value '0' for xor (1 to 255)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s replay l esp first\n",
	     "out/unit/t.scn:3: bad frame number 'first' (1 is the first)"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s inject l nothere.pcap\n",
	     "out/unit/t.scn:3: cannot read out/unit/nothere.pcap: out/unit/nothere.pcap: No such "
	     "file or directory"},
	    {"node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nat 1s inject l x.pcap by a\n",
	     "out/unit/t.scn:3: usage: at TIME inject LINK FILE [from NODE]"},
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int failed = 0;
		char *err = load_text(rows[i].text, &failed, NULL, 0);
		CU_ASSERT_TRUE(failed);
		char *nl = err ? strchr(err, '\n') : NULL;
		if (nl)
			*nl = '\0';
		if (!err || strcmp(err, rows[i].msg) != 0)
			fprintf(stderr, "\nrow %u: got \"%s\"\n", i + 1, err ? err : "(nothing)");
		CU_ASSERT_STRING_EQUAL(err ? err : "", rows[i].msg);
		free(err);
	}
}

static void test_every_error_reported(void)
{
	/* Reading goes on after an error, so one run reports each bad line. */
	int failed;
	char *err = load_text("X=$A\nY=$B\n", &failed, NULL, 0);
	CU_ASSERT_TRUE(failed);
	CU_ASSERT_STRING_EQUAL(err, "out/unit/t.scn:1: macro 'A' not defined\n"
				    "out/unit/t.scn:2: macro 'B' not defined\n");
	free(err);
	/* So does building: a line read wrong, then statements built wrong;
	 * the good ones between still count (the link's node exists). */
	err = load_text("node a b\nnode $C\nlink l a=10.0.0.1/24 b=10.0.0.2/24 delay 1 ms\n"
			"bogus 1\nroute a default via 10.0.0.99x\nlink m a=10.0.1.1/24 "
			"b=10.0.1.2/24\nroute a default via 10.0.1.2\nend 1s\nend 2s\n",
			&failed, NULL, 0);
	CU_ASSERT_TRUE(failed);
	CU_ASSERT_STRING_EQUAL(
	    err, "out/unit/t.scn:2: macro 'C' not defined\n"
		 "out/unit/t.scn:9: end given twice\n"
		 "out/unit/t.scn:3: bad value '1 ms' for delay: a time with its unit, ns, us, ms, s, "
		 "m or h, written right after the number (such as 1.5s, 250ms or 10m), at most "
		 "18446744073.709551615s\n"
		 "out/unit/t.scn:4: unknown statement 'bogus'\n"
		 "out/unit/t.scn:5: bad gateway address '10.0.0.99x'\n");
	free(err);
	/* Up to 50, then it stops and says so. */
	char text[4096] = "node a\n";
	for (int i = 0; i < 60; i++)
		strcat(text, "bogus\n");
	err = load_text(text, &failed, NULL, 0);
	CU_ASSERT_TRUE(failed);
	unsigned lines = 0;
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	CU_ASSERT_EQUAL(lines, 51);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "out/unit/t.scn:51: unknown statement 'bogus'\n"
					   "out/unit/t.scn: stopped after 50 errors\n"));
	free(err);
}

/* A require flow with no SA and nothing to add one: a warning at load
 * time, and the file still runs; none when an SA, a key manager, a PF_KEY
 * socket or an expectation on the node's ipsec drops says otherwise. */
static void test_flow_without_sa_warns(void)
{
	static const char *base = "node a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24\nipsec a {\n"
				  "\tflow esp from 10.0.0.1 to 10.0.0.2\n%s}\nend 2s\n%s";
	static const struct {
		const char *sa, *more;
		bool warns;
	} rows[] = {
	    {"", "", true},
	    {"\tesp transport from 10.0.0.1 to 10.0.0.2 spi 0x100:0x101 enc aes-128-gcm enckey "
	     "0x00112233445566778899aabbccddeeff01234567:0x00112233445566778899aabbccddeeff01234567"
	     "\n",
	     "", false},
	    {"", "keymgr a sa 10.0.0.2 esp\n", false},
	    {"", "listen a pfkey km register esp\n", false},
	    {"", "expect a ipsec.nosa == 0\n", false},
	};
	for (unsigned i = 0; i < ARRAY_LEN(rows); i++) {
		char text[1024];
		snprintf(text, sizeof(text), base, rows[i].sa, rows[i].more);
		int failed;
		char *err = load_text(text, &failed, NULL, 0);
		CU_ASSERT_FALSE(failed);
		const char *want = rows[i].warns
				       ? "out/unit/t.scn: warning: a has no SA to 10.0.0.2 for flow esp "
					 "out from 10.0.0.1 to 10.0.0.2 peer 10.0.0.2 type require: its "
					 "packets will be dropped (ipsec.nosa) unless an SA is added\n"
				       : "";
		CU_ASSERT_STRING_EQUAL(err ? err : "", want);
		free(err);
	}
}

static void test_macros_and_command_line(void)
{
	/* The file's DELAY is overridden by -D; NAME expands inside a word. */
	const char *text = "DELAY=\"5ms\"\nN=b\nnode a $N\n"
			   "link l a=10.0.0.1/24 ${N}=10.0.0.2/24 delay $DELAY\n"
			   "expect l link.sent == $COUNT\n";
	struct scn_define defs[] = {{"DELAY", "bogus"}, {"COUNT", "0"}};
	int failed;
	char *err = load_text(text, &failed, defs, 2);
	/* -D DELAY=bogus wins, and is rejected: the error points at the
	 * command line, and says where the value was used */
	CU_ASSERT_TRUE(failed);
	CU_ASSERT_STRING_EQUAL(err, "-D DELAY=bogus: bad value 'bogus' for delay: a time with its "
				    "unit, ns, us, ms, s, m or h, written right after the number "
				    "(such as 1.5s, 250ms or 10m), at most 18446744073.709551615s (used at out/unit/t.scn:4)\n");
	free(err);
	/* through a file macro defined from it, too; a file's own value is
	 * the file's mistake */
	const char *via = "X=\"$DELAY\"\nnode a b\nlink l a=10.0.0.1/24 b=10.0.0.2/24 delay $X "
			  "loss 200%\n";
	err = load_text(via, &failed, defs, 1);
	CU_ASSERT_STRING_EQUAL(err, "-D DELAY=bogus: bad value 'bogus' for delay: a time with its "
				    "unit, ns, us, ms, s, m or h, written right after the number "
				    "(such as 1.5s, 250ms or 10m), at most 18446744073.709551615s (used at out/unit/t.scn:3)\n");
	free(err);
	defs[0].value = "1ms";
	err = load_text(via, &failed, defs, 1);
	CU_ASSERT_STRING_EQUAL(err, "out/unit/t.scn:3: bad value '200%' for loss: a percentage "
				    "from 0% to 100% (such as 0.5%), to 7 decimals\n");
	free(err);
	defs[0].value = "3ms";
	err = load_text(text, &failed, defs, 2);
	CU_ASSERT_FALSE(failed);
	CU_ASSERT_STRING_EQUAL(err ? err : "", "");
	free(err);
}

/* text_getline, every reader's: lines up to the buffer, and the three ways
 * it refuses to go on. */
static void test_text_lines(void)
{
	static const char data[] = "ab\n\nlast-without-newline";
	FILE *f = fmemopen((void *)data, sizeof(data) - 1, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	struct text_reader r = {f, 0};
	char buf[8];
	size_t len = 99;
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LINE);
	CU_ASSERT_STRING_EQUAL(buf, "ab");
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LINE);
	CU_ASSERT_EQUAL(len, 0);
	/* 20 bytes into a buffer of 8: refused, not cut into three lines */
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LONG);
	fclose(f);

	static const char seven[] = "1234567\n12345678\n";
	f = fmemopen((void *)seven, sizeof(seven) - 1, "r");
	r = (struct text_reader){f, 0};
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LINE); /* 7 fit */
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LONG); /* 8 do not */
	fclose(f);

	static const char nul[] = "ok\nx\0y\n";
	f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
	r = (struct text_reader){f, 0};
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LINE);
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_NUL);
	fclose(f);

	static const char empty[] = "";
	f = fmemopen((void *)empty, 1, "r"); /* one NUL byte */
	r = (struct text_reader){f, 0};
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_NUL);
	fclose(f);

	/* the size cap, counted across lines */
	static const char lines[] = "a\nb\n";
	f = fmemopen((void *)lines, sizeof(lines) - 1, "r");
	r = (struct text_reader){f, TEXT_MAX_FILE - 3};
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_LINE); /* 2 bytes */
	CU_ASSERT_EQUAL(text_getline(&r, buf, sizeof(buf), &len), TEXT_HUGE); /* the 4th */
	fclose(f);

	char msg[64];
	text_line_error(TEXT_LONG, 4096, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(msg, "line longer than 4095 bytes");
	text_line_error(TEXT_HUGE, 4096, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(msg, "file larger than 64 MiB");
}

/* The work of building a file of `pairs` two-node pairs, each with its
 * link and a named ping and an expectation on it: the slots the name and
 * MAC tables looked at (every lookup and insertion of the set-up). */
static uint64_t setup_probes(unsigned pairs)
{
	const char *path = "out/unit/scale.scn";
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (unsigned i = 0; i < pairs; i++) {
		unsigned a = i / 64, b = i % 64 * 4;
		fprintf(f,
			"node a%u b%u\nlink l%u a%u=10.%u.%u.%u/30 b%u=10.%u.%u.%u/30\n"
			"at 1s ping b%u 10.%u.%u.%u count 1 as p%u quiet\nexpect p%u sent == 1\n",
			i, i, i, i, a / 256, a % 256, b + 1, i, a / 256, a % 256, b + 2, i, a / 256,
			a % 256, b + 1, i, i);
	}
	fclose(f);
	struct scn_options o = {.outdir = "out/unit/scale", .out = stdout, .err = stderr};
	struct scenario *sc = scenario_load(path, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	CU_ASSERT_EQUAL(sc->sim->nnodes, 2 * pairs);
	uint64_t probes = sc->sim->node_names.probes + sc->sim->link_names.probes +
			  sc->sim->macs.probes + sc->app_names.probes;
	scenario_free(sc);
	return probes;
}

/* Set-up is linear (issue 18): 100,000 nodes cost per node what 2,000 do,
 * counted in table probes, not in time.  A scan by name, or a hash that
 * sends names to a few slots, makes the big file's work per node grow
 * with its size. */
static void test_setup_linear(void)
{
	uint64_t small = setup_probes(1000), big = setup_probes(50000);
	double per_small = (double)small / 2000, per_big = (double)big / 100000;
	fprintf(stderr, "\n    set-up: %.2f probes a node for 2,000 nodes, %.2f for 100,000 ", per_small,
		per_big);
	/* the tables' load (a quarter to a half) moves it a little, a scan
	 * by 50 times */
	CU_ASSERT(per_big < 2 * per_small);
	/* about 14 table operations a node here (a new name is looked for in
	 * four tables, then added; endpoints, pings and expectations look
	 * names up; each MAC is added), one or two slots each */
	CU_ASSERT(per_big < 32);
}

void suite_scenario(void)
{
	static const struct unit_test t[] = {
	    {"time parser", test_time_parser},
	    {"percent and rate parsers", test_percent_and_rate_parsers},
	    {"integer parser", test_uint_parser},
	    {"errors name file and line", test_errors_name_file_and_line},
	    {"every error reported", test_every_error_reported},
	    {"a flow without an SA warns", test_flow_without_sa_warns},
	    {"macros and -D", test_macros_and_command_line},
	    {"text lines", test_text_lines},
	    {"set-up is linear", test_setup_linear},
	    {NULL, NULL}};
	unit_add_suite("scenario", t);
}
