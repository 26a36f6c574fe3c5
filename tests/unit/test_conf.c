/* The ipsec.conf front end: configurations with their exact ipsecctl -nv
 * output, and invalid ones with their exact messages. */
#include <stdlib.h>
#include <string.h>

#include "../../ipsec/conf.h"
#include "../../ipsec/pfkey.h"
#include "../../stack/util.h"
#include "unit.h"

/* Table rows leave their trailing options (mode, -k, -vv) at zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define K16 "0x00112233445566778899aabbccddeeff"
#define K20 "0x00112233445566778899aabbccddeeff01234567"
#define K24 "0x00112233445566778899aabbccddeeff0011223344556677"
#define K32 "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

struct run {
	char *out, *err;
	int rc;
	unsigned nrules;
};

static struct run parse_text(const char *text, enum conf_mode mode, bool keys, bool vv)
{
	struct run r = {0};
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&r.out, &ol), *err = open_memstream(&r.err, &el);
	struct conf_options o = {.mode = mode,
				 .verbose = true,
				 .verbose2 = vv,
				 .showkeys = keys,
				 .out = out,
				 .err = err,
				 .text = text,
				 .text_name = "t"};
	struct conf c;
	r.rc = conf_parse(NULL, &o, &c);
	r.nrules = c.nrules;
	conf_free(&c);
	fclose(out);
	fclose(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void test_valid_configurations(void)
{
	static const struct {
		const char *what, *in, *out;
		enum conf_mode mode;
		bool keys, vv;
	} rows[] = {
	    {"a flow with its reverse",
	     "flow esp from 10.0.1.0/24 to 10.0.2.0/24 peer 192.168.3.2\n",
	     "flow esp out from 10.0.1.0/24 to 10.0.2.0/24 peer 192.168.3.2 type require\n"
	     "flow esp in from 10.0.2.0/24 to 10.0.1.0/24 peer 192.168.3.2 type require\n"},
	    {"inet_net_pton's short forms with a length, as ipsecctl's host_v4",
	     "flow esp out from 10.0.2/24 to 172.16/12 peer 1.2.3.4\n"
	     "flow esp out from 0x0a01/16 to 10.9.8.7/8 peer 1.2.3.4\n",
	     "flow esp out from 10.0.2.0/24 to 172.16.0.0/12 peer 1.2.3.4 type require\n"
	     "flow esp out from 10.1.0.0/16 to 10.9.8.7/8 peer 1.2.3.4 type require\n"},
	    {"out only, the peer is the destination host", "flow esp out from 1.1.1.1 to 2.2.2.2\n",
	     "flow esp out from 1.1.1.1 to 2.2.2.2 peer 2.2.2.2 type require\n"},
	    {"in only, the peer is the source host; satype defaults to esp",
	     "flow in from 1.1.1.1 to 2.2.2.2\n",
	     "flow esp in from 1.1.1.1 to 2.2.2.2 peer 1.1.1.1 type require\n"},
	    {"proto, port by name, any, bypass takes no peer",
	     "flow esp out proto tcp from 10.0.0.0/8 port 22 to any peer 1.2.3.4 type bypass\n",
	     "flow esp out proto tcp from 10.0.0.0/8 port ssh to 0.0.0.0/0 type bypass\n"},
	    {"ipcomp flows default to use", "flow ipcomp from 1.1.1.1 to 2.2.2.2\n",
	     "flow ipcomp out from 1.1.1.1 to 2.2.2.2 peer 2.2.2.2 type use\n"
	     "flow ipcomp in from 2.2.2.2 to 1.1.1.1 peer 2.2.2.2 type use\n"},
	    {"any to any expands to both families", "flow esp from any to any type deny\n",
	     "flow esp out from 0.0.0.0/0 to 0.0.0.0/0 type deny\n"
	     "flow esp in from 0.0.0.0/0 to 0.0.0.0/0 type deny\n"
	     "flow esp out from ::/0 to ::/0 type deny\n"
	     "flow esp in from ::/0 to ::/0 type deny\n"},
	    {"a host list", "flow esp out from { 1.1.1.1, 1.1.1.2 } to 2.2.2.2 local 1.1.1.9\n",
	     "flow esp out from 1.1.1.1 to 2.2.2.2 local 1.1.1.9 peer 2.2.2.2 type require\n"
	     "flow esp out from 1.1.1.2 to 2.2.2.2 local 1.1.1.9 peer 2.2.2.2 type require\n"},
	    {"identities, kept unswapped in the reverse",
	     "flow esp from 1.1.1.1 to 2.2.2.2 srcid me@example dstid gw.example\n",
	     "flow esp out from 1.1.1.1 to 2.2.2.2 peer 2.2.2.2 srcid me@example dstid gw.example "
	     "type require\n"
	     "flow esp in from 2.2.2.2 to 1.1.1.1 peer 2.2.2.2 srcid me@example dstid gw.example "
	     "type require\n"},
	    {"to ... from ... and peer any",
	     "flow esp out proto udp to 10.9.0.0/16 port 53 from 10.1.0.0/16 peer any\n",
	     "flow esp out proto udp from 10.1.0.0/16 to 10.9.0.0/16 port domain type require\n"},
	    {"protocol by number and a v6 flow",
	     "flow esp out proto 97 from 2001:db8:1::/48 to 2001:db8:2::/48 peer 2001:db8::2\n",
	     "flow esp out proto etherip from 2001:db8:1::/48 to 2001:db8:2::/48 peer 2001:db8::2 "
	     "type require\n"},
	    {"an SA pair with the defaults",
	     "esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0x1001 authkey " K32 ":" K32 " enckey " K16
	     ":" K16 "\n",
	     "esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 auth hmac-sha2-256 enc aes\n"
	     "esp tunnel from 2.2.2.2 to 1.1.1.1 spi 0x00001001 auth hmac-sha2-256 enc aes\n"},
	    {"prefix-matched names, keys shown with -k",
	     "esp transport from 1.1.1.1 to 2.2.2.2 spi 4096 auth hmac-md5 enc 3des authkey " K16
	     " enckey " K24 "\n",
	     "esp transport from 1.1.1.1 to 2.2.2.2 spi 0x00001000 auth hmac-md5 enc 3des-cbc \\\n"
	     "\tauthkey 0x00112233445566778899aabbccddeeff \\\n"
	     "\tenckey 0x00112233445566778899aabbccddeeff0011223344556677\n",
	     CONF_STRICT, true},
	    {"ah defaults to hmac-sha2-256",
	     "ah from 1.1.1.1 to 2.2.2.2 spi 0x2000 authkey " K32 "\n",
	     "ah tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00002000 auth hmac-sha2-256\n"},
	    {"ipcomp defaults to deflate", "ipcomp transport from 1.1.1.1 to 2.2.2.2 spi 0x4000\n",
	     "ipcomp transport from 1.1.1.1 to 2.2.2.2 spi 0x00004000 comp deflate\n"},
	    {"ipip prints no mode", "ipip from 1.1.1.1 to 2.2.2.2 spi 0x5000:0x5001\n",
	     "ipip from 1.1.1.1 to 2.2.2.2 spi 0x00005000\n"
	     "ipip from 2.2.2.2 to 1.1.1.1 spi 0x00005001\n"},
	    {"tcpmd5 keys on the same line",
	     "tcpmd5 from 1.1.1.1 to 2.2.2.2 spi 0x2000:0x2001 authkey 0xdeadbeef:0xbeefdead\n",
	     "tcpmd5 from 1.1.1.1 to 2.2.2.2 spi 0x00002000 authkey 0xdeadbeef\n"
	     "tcpmd5 from 2.2.2.2 to 1.1.1.1 spi 0x00002001 authkey 0xbeefdead\n",
	     CONF_STRICT, true},
	    {"macros print as they are set",
	     "A = \"1.1.1.1\"\nB=\"2.2.2.2\"\nesp from $A to $B spi 0x1000 enc null authkey " K32
	     "\n",
	     "A = \"1.1.1.1\"\nB = \"2.2.2.2\"\n"
	     "esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 auth hmac-sha2-256 enc null\n"},
	    {"-vv numbers the rules", "flow esp from 1.1.1.1 to 2.2.2.2\n",
	     "@0 flow esp out from 1.1.1.1 to 2.2.2.2 peer 2.2.2.2 type require\n"
	     "@1 flow esp in from 2.2.2.2 to 1.1.1.1 peer 2.2.2.2 type require\n",
	     CONF_STRICT, false, true},
	    {"bundles chain SAs with the same from, to and name",
	     "ipcomp transport from 1.1.1.1 to 2.2.2.2 spi 0x6441 bundle b\n"
	     "esp transport from 1.1.1.1 to 2.2.2.2 spi 0x10006441 authkey " K32 " enckey " K16
	     " bundle b\n",
	     "ipcomp transport from 1.1.1.1 to 2.2.2.2 spi 0x00006441 comp deflate\n"
	     "esp transport from 1.1.1.1 to 2.2.2.2 spi 0x10006441 auth hmac-sha2-256 enc aes\n"
	     "[bundle ipcomp to 2.2.2.2 spi 0x00006441 with esp to 2.2.2.2 spi 0x10006441]\n"},
	    {"a continued statement", "flow esp \\\n\tfrom 1.1.1.1 \\\n\tto 2.2.2.2 type use\n",
	     "flow esp out from 1.1.1.1 to 2.2.2.2 peer 2.2.2.2 type use\n"
	     "flow esp in from 2.2.2.2 to 1.1.1.1 peer 2.2.2.2 type use\n"},
	    {"testbed: gcm with static keys, replay, esn, lifetimes",
	     "esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes-128-gcm enckey " K20
	     " replay 32 esn lifetime hard bytes 1000000 time 1h lifetime soft time 3000\n",
	     "esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 enc aes-128-gcm replay 32 esn "
	     "lifetime soft time 3000 lifetime hard bytes 1000000 time 3600\n",
	     CONF_TESTBED},
	    {"testbed: the longest lifetimes in each unit",
	     "esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes-128-gcm enckey " K20
	     " lifetime hard time 2562047788015215h usetime 153722867280912930m"
	     " lifetime soft time 9223372036854775807s usetime 9223372036854775807\n",
	     "esp tunnel from 1.1.1.1 to 2.2.2.2 spi 0x00001000 enc aes-128-gcm "
	     "lifetime soft time 9223372036854775807 usetime 9223372036854775807 "
	     "lifetime hard time 9223372036854774000 usetime 9223372036854775800\n",
	     CONF_TESTBED},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct run r = parse_text(rows[i].in, rows[i].mode, rows[i].keys, rows[i].vv);
		if (r.rc != 0 || strcmp(r.out, rows[i].out) != 0)
			fprintf(stderr, "\nconf row %zu (%s):\n--- got ---\n%s%s--- want ---\n%s",
				i + 1, rows[i].what, r.out, r.err, rows[i].out);
		CU_ASSERT_EQUAL(r.rc, 0);
		CU_ASSERT_STRING_EQUAL(r.out, rows[i].out);
		CU_ASSERT_STRING_EQUAL(r.err, "");
		run_free(&r);
	}
}

static void test_invalid_configurations(void)
{
	static const struct {
		const char *in, *err;
		enum conf_mode mode;
	} rows[] = {
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 comp deflate\n",
	     "t: 1: esp does not provide compression\n"},
	    {"\n\nipcomp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes\n",
	     "t: 3: no encryption or authentication with ipcomp\n"},
	    {"ah from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes authkey " K32 "\n",
	     "t: 1: ah does not provide encryption\n"},
	    {"ipip from 1.1.1.1 to 2.2.2.2 spi 0x1000 auth hmac-sha1\n",
	     "t: 1: no encryption, authentication or compression with ipip\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes-128-gcm enckey " K20 "\n",
	     "t: 1: aes-128-gcm is disallowed with static keys\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aesctr enckey " K20 "\n",
	     "t: 1: aesctr is disallowed with static keys\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc chacha auth hmac-sha1\n",
	     "t: 1: authentication is implicit for chacha20-poly1305\n", CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K16 " enckey " K16 "\n",
	     "t: 1: wrong authentication key length, needs to be 256 bits\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes-256 authkey " K32 " enckey " K16 "\n",
	     "t: 1: encryption key too short (128 bits), minimum 256 bits\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc cast authkey " K32 " enckey " K20 "\n",
	     "t: 1: encryption key too long (160 bits), maximum 128 bits\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 "\n",
	     "t: 1: no encryption key specified\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enckey " K16 "\n",
	     "t: 1: no authentication key specified\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 5\n", "t: 1: 5 within reserved spi range\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0xff\n",
	     "t: 1: 255 within reserved spi range\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1ffffffff\n", "t: 1: 8589934591 not a valid spi\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0\n", "t: 1: no SPI specified\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0x1001 authkey " K32 " enckey " K16 "\n",
	     "t: 1: no authentication key specified\n"},
	    {"flow esp from 1.1.1.1 to 2001:db8::1\n",
	     "t: 1: source/destination address families do not match\n"},
	    {"flow esp from 10.0.0.0/8 to 10.1.0.0/16\n",
	     "t: 1: no peer specified for destination 10.1.0.0/16\n"},
	    {"flow esp from 10.0.0.0/8 port 80 to 1.1.1.1\n",
	     "t: 1: no protocol supplied with source/destination ports\n"},
	    {"flow esp proto foo from 1.1.1.1 to 2.2.2.2\n", "t: 1: unknown protocol: foo\n"},
	    {"flow esp proto 300 from 1.1.1.1 to 2.2.2.2\n", "t: 1: protocol outside range\n"},
	    {"flow esp from 1.1.1.300 to 2.2.2.2\n",
	     "no IP address found for 1.1.1.300\nt: 1: could not parse host specification\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 auth hmac-sha1 auth hmac-md5\n",
	     "t: 1: auth already set\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc rot13\n",
	     "t: 1: rot13 not a valid transform\n"},
	    {"flow esp from $NOWHERE to 2.2.2.2\n", "t: 1: macro 'NOWHERE' not defined\n"},
	    {"ike esp from 1.1.1.1 to 2.2.2.2\n",
	     "t: 1: ike rules are not supported: ipsecsim has no IKE daemon; use flow rules and "
	     "manually keyed SA rules\n"},
	    {"bogus line here\n", "t: 1: syntax error\n"},
	    /* short forms only with a length (inet_pton without one), and 10/8
	     * lexes as a number, not an address: as in ipsecctl */
	    {"flow esp from 10.0.2 to 1.1.1.1\n",
	     "no IP address found for 10.0.2\nt: 1: could not parse host specification\n"},
	    {"flow esp from 1.1.1.1 to 10/8 peer 2.2.2.2\n", "t: 1: syntax error\n"},
	    {"flow esp from 10.0.256/24 to 1.1.1.1\n",
	     "no IP address found for 10.0.256/24\nt: 1: could not parse host specification\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey 0xzz" K32 "\n",
	     "t: 1: keys need to be specified in hex digits\n"},
	    /* testbed words are plain strings to the strict parser */
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16 " esn\n",
	     "t: 1: syntax error\n"},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16 " replay 65\n",
	     "t: 1: replay wants a window of 0 to 64 packets\n", CONF_TESTBED},
	    /* ipsecctl's messages word for word; the testbed's add the range */
	    {"flow esp proto 300 from 1.1.1.1 to 2.2.2.2\n",
	     "t: 1: protocol outside range (0 to 255)\n", CONF_TESTBED},
	    {"flow esp proto tcp from 1.1.1.1 port 70000 to 2.2.2.2\n",
	     "t: 1: port outside range (0 to 65535)\n", CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1ffffffff authkey " K32 " enckey " K16 "\n",
	     "t: 1: 8589934591 not a valid spi (0x100 to 0xffffffff)\n", CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 7 authkey " K32 " enckey " K16 "\n",
	     "t: 1: 7 within reserved spi range (1 to 255)\n", CONF_TESTBED},
	    /* a time with a unit is held to the bare numbers' range, not wrapped */
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16
	     " lifetime hard time 2562047788015216h\n",
	     "t: 1: bad time '2562047788015216h': whole seconds, as a bare number or with its unit, "
	     "ns, us, ms, s, m or h, written right after the number (such as 3600, 90s or 10m); at "
	     "most 9223372036854775807 seconds\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16
	     " lifetime soft time 9223372036854775808s\n",
	     "t: 1: bad time '9223372036854775808s': whole seconds, as a bare number or with its "
	     "unit, ns, us, ms, s, m or h, written right after the number (such as 3600, 90s or "
	     "10m); at most 9223372036854775807 seconds\n",
	     CONF_TESTBED},
	    /* a key without its salt: ipsecctl's words, and in the testbed what
	     * the length holds (strict mode takes none of these with static
	     * keys) */
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes-128-gcm enckey " K16 "\n",
	     "t: 1: encryption key too short (128 bits), minimum 160 bits (aes-128-gcm: 16 bytes "
	     "of key, then a 4-byte salt)\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aesctr authkey " K32 " enckey " K16 "\n",
	     "t: 1: encryption key too short (128 bits), minimum 160 bits (aesctr: 16 to 32 bytes "
	     "of key, then a 4-byte nonce)\n",
	     CONF_TESTBED},
	    /* two SPIs and one key: the testbed says the second key is missing */
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0x1001 enc aes-128-gcm enckey " K20 "\n",
	     "t: 1: spi 0x1000:0x1001 makes two SAs, so enckey needs two keys too, OUT:IN (one "
	     "was given)\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000:0x1001 authkey " K32 ":" K32 " enckey " K16
	     "\n",
	     "t: 1: no encryption key specified\n"},
	    /* a unit apart from its number, and a fraction of a second */
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16
	     " lifetime soft time 5 sec\n",
	     "t: 1: bad time '5 sec': whole seconds, as a bare number or with its unit, ns, us, ms, "
	     "s, m or h, written right after the number (such as 3600, 90s or 10m); at most "
	     "9223372036854775807 seconds\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16
	     " lifetime soft time 1500ms\n",
	     "t: 1: bad time '1500ms': whole seconds, as a bare number or with its unit, ns, us, ms, "
	     "s, m or h, written right after the number (such as 3600, 90s or 10m); at most "
	     "9223372036854775807 seconds\n",
	     CONF_TESTBED},
	    /* the testbed's syntax errors say what they found and what belongs
	     * there; the strict grammar says only "syntax error", as ipsecctl */
	    {"flwo esp from 1.1.1.1 to 2.2.2.2\n",
	     "t: 1: syntax error: unknown word 'flwo' where a rule (flow, esp, ah, ipcomp, ipip, "
	     "tcpmd5), include, or NAME = VALUE belongs\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16 " replya 5\n",
	     "t: 1: syntax error: 'replya' where bundle, replay, esn, srcid, lifetime or the end "
	     "of the rule belongs\n",
	     CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 enc aes enckye " K16 "\n",
	     "t: 1: syntax error: 'enckye' where auth, enc, comp, authkey, enckey, bundle, replay, "
	     "esn, srcid, lifetime or the end of the rule belongs\n",
	     CONF_TESTBED},
	    {"flow esp from 1.1.1.1 to 2.2.2.2 type requir\n",
	     "t: 1: syntax error: 'requir' where use, acquire, require, deny, bypass or dontacq "
	     "belongs\n",
	     CONF_TESTBED},
	    {"flow esp from 1.1.1.1 to 2.2.2.2 peeer 3.3.3.3\n",
	     "t: 1: syntax error: 'peeer' where local, peer, srcid, dstid, type or the end of the "
	     "rule belongs\n",
	     CONF_TESTBED},
	    {"flow esp from 1.1.1.1 too 2.2.2.2\n",
	     "t: 1: syntax error: 'too' where to belongs\n", CONF_TESTBED},
	    {"esp from 1.1.1.1 to 2.2.2.2 spi 0x1000 authkey " K32 " enckey " K16
	     " lifetime soft bytes 0\n",
	     "t: 1: bytes wants a number from 1 to 9223372036854775807\n", CONF_TESTBED},
	    /* every bad statement is reported, and the line of its end */
	    {"flow esp from 1.1.1.1 \\\n to 2001:db8::1\nesp from 1.1.1.1 to 2.2.2.2 spi 0\n",
	     "t: 2: source/destination address families do not match\nt: 3: no SPI specified\n"},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct run r = parse_text(rows[i].in, rows[i].mode, false, false);
		if (r.rc != -1 || strcmp(r.err, rows[i].err) != 0)
			fprintf(stderr, "\ninvalid conf row %zu:\n--- got ---\n%s--- want ---\n%s",
				i + 1, r.err, rows[i].err);
		CU_ASSERT_EQUAL(r.rc, -1);
		CU_ASSERT_STRING_EQUAL(r.err, rows[i].err);
		run_free(&r);
	}
}

static void test_load_through_pfkey(void)
{
	const char *text =
	    "flow esp from 10.1.0.0/16 to 10.2.0.0/16 local 192.0.2.1 peer 192.0.2.2\n"
	    "esp from 192.0.2.1 to 192.0.2.2 spi 0x1000:0x1001 authkey " K32 ":" K32 " enckey " K16
	    ":" K16 "\n"
	    "ah transport from 192.0.2.1 to 192.0.2.2 spi 0x2000 authkey " K32 " bundle x\n"
	    "esp transport from 192.0.2.1 to 192.0.2.2 spi 0x3000 authkey " K32 " enckey " K16
	    " bundle x\n";
	struct conf_options o = {
	    .mode = CONF_STRICT, .err = stderr, .text = text, .text_name = "t"};
	struct conf c;
	CU_ASSERT_EQUAL_FATAL(conf_parse(NULL, &o, &c), 0);
	CU_ASSERT_EQUAL(c.nrules, 7); /* 2 flows, 4 SAs (a pair and two), 1 bundle link */
	struct sim *sim = sim_new(1);
	struct node *n = sim_add_node(sim, "n");
	struct pfkey_sock *s = pfkey_open(n);
	CU_ASSERT_EQUAL(conf_load(&c, s, stderr, NULL), 0);
	struct ipsec_state *st = n->ipsec;
	CU_ASSERT_EQUAL(st->spd.count, 2);
	CU_ASSERT_EQUAL(st->sad.count, 4);
	struct ipaddr gw2, gw1;
	addr_parse("192.0.2.2", &gw2);
	addr_parse("192.0.2.1", &gw1);
	struct tdb *t = sad_lookup(&st->sad, &gw2, 0x1000, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_TRUE(t->flags & TDBF_TUNNELING);
	CU_ASSERT_EQUAL(t->authalg, SADB_X_AALG_SHA2_256);
	CU_ASSERT_EQUAL(t->encalg, SADB_X_EALG_AES);
	CU_ASSERT_EQUAL(t->wnd, 0); /* manual SAs have no replay window */
	CU_ASSERT_PTR_NOT_NULL(sad_lookup(&st->sad, &gw1, 0x1001, IPPROTO_ESP));
	struct tdb *ah = sad_lookup(&st->sad, &gw2, 0x2000, IPPROTO_AH);
	struct tdb *esp = sad_lookup(&st->sad, &gw2, 0x3000, IPPROTO_ESP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ah);
	CU_ASSERT_FALSE(ah->flags & TDBF_TUNNELING);
	CU_ASSERT_PTR_EQUAL(ah->onext, esp); /* the bundle: AH then ESP */
	/* The flows arrived as static policies, masked, with their gateway. */
	struct spd_flow *f = st->spd.head;
	CU_ASSERT_EQUAL(f->type, IPSP_IPSEC_REQUIRE);
	CU_ASSERT_EQUAL(f->sel.dir, IPSP_DIRECTION_OUT);
	CU_ASSERT_EQUAL(f->mask.src_plen, 16);
	CU_ASSERT_TRUE(addr_eq(&f->peer, &gw2));
	CU_ASSERT_TRUE(f->flags & IPSP_POLICY_STATIC);
	CU_ASSERT_EQUAL(f->next->sel.dir, IPSP_DIRECTION_IN);
	sim_free(sim);
	conf_free(&c);
}

void suite_conf(void)
{
	static const struct unit_test t[] = {
	    {"valid configurations print as ipsecctl -nv", test_valid_configurations},
	    {"invalid configurations and their messages", test_invalid_configurations},
	    {"loading through PF_KEY", test_load_through_pfkey},
	    {NULL, NULL}};
	unit_add_suite("conf", t);
}
