/* libFuzzer: the capture reader (pcap and pcapng, every link type it
 * takes, fragments) through `ipsecsim verify`, `decap` and `encap`, with
 * the SAs of tests/fuzz/capture.conf (FUZZ_CAPTURE_SA overrides the path).
 *
 * Each input is a capture, run as the three commands run it.  encap takes
 * the SPI the input's length picks among the file's ESP and AH SAs.
 * The oracles beyond the sanitizers: what decap and encap write reads back
 * as a capture with as many packets as they say; and what encap protects,
 * verify passes, every packet of it (the same SA on both sides).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/capread.h"
#include "../../tools/cmds.h"
#include "fuzz.h"

static const uint32_t spis[] = {0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006,
				0x1010, 0x1011, 0x1012, 0x2003, 0x2012};
#define NSPIS (sizeof(spis) / sizeof(spis[0]))

static const char *sa_file;
static char out_path[96], enc_path[96];
static int null_fd, err_fd;

/* A command as the CLI runs it, its stderr to /dev/null (libFuzzer's own
 * output stays). */
static int quiet(int (*cmd)(int, char **), int argc, char **argv)
{
	fflush(stderr);
	dup2(null_fd, 2);
	int rc = cmd(argc, argv);
	fflush(stderr);
	dup2(err_fd, 2);
	return rc;
}

/* The packets of a capture a command wrote; -1 if it does not read back. */
static long packets_in(const char *path)
{
	fflush(stderr);
	dup2(null_fd, 2);
	struct cap_reader *r = cap_open(path, stderr);
	long n = -1;
	if (r) {
		struct cap_packet cp;
		int rc;
		n = 0;
		while ((rc = cap_next(r, &cp)) == 1)
			n++;
		if (rc < 0)
			n = -1;
		cap_close(r);
	}
	fflush(stderr);
	dup2(err_fd, 2);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	sa_file = getenv("FUZZ_CAPTURE_SA");
	sa_file = sa_file && *sa_file ? sa_file : "tests/fuzz/capture.conf";
	if (access(sa_file, R_OK) != 0) {
		perror(sa_file);
		exit(1);
	}
	snprintf(out_path, sizeof(out_path), "%s/out.pcap", fuzz_dir);
	snprintf(enc_path, sizeof(enc_path), "%s/enc.pcap", fuzz_dir);
	null_fd = open("/dev/null", O_WRONLY);
	err_fd = dup(2);
	if (null_fd < 0 || err_fd < 0 || !freopen("/dev/null", "w", stdout)) {
		perror("fuzz-capture: /dev/null");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_input(data, size);
	if (!in)
		return 0;
	char *verify[] = {"verify", "--sa", (char *)sa_file, (char *)in, NULL};
	quiet(cmd_verify, 4, verify);
	char *json[] = {"verify", "--json", "--sa", (char *)sa_file, (char *)in, NULL};
	quiet(cmd_verify, 5, json);

	char *decap[] = {"decap", "--sa", (char *)sa_file, (char *)in, out_path, NULL};
	int rc = quiet(cmd_decap, 5, decap);
	if (rc != 2 && packets_in(out_path) < 0) {
		fprintf(stderr, "fuzz-capture: decap wrote a capture that does not read back\n");
		abort();
	}

	char spi[16];
	snprintf(spi, sizeof(spi), "0x%x", spis[size % NSPIS]);
	char *encap[] = {"encap", "--sa",     (char *)sa_file, "--spi",
			 spi,     (char *)in, enc_path,        NULL};
	rc = quiet(cmd_encap, 7, encap);
	if (rc == 0) {
		long n = packets_in(enc_path);
		if (n < 0) {
			fprintf(stderr,
				"fuzz-capture: encap wrote a capture that does not read back\n");
			abort();
		}
		char *check[] = {"verify", "--sa", (char *)sa_file, enc_path, NULL};
		if (n > 0 && quiet(cmd_verify, 4, check) != 0) {
			fprintf(stderr,
				"fuzz-capture: verify refuses what encap protected with SPI %s "
				"(%s)\n",
				spi, enc_path);
			abort();
		}
	}
	return 0;
}
