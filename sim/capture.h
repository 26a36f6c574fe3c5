/* pcap files written through libpcap, stamped with virtual time (ns). */
#ifndef SIM_CAPTURE_H
#define SIM_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW      101
#define LINKTYPE_ENC      109
#define LINKTYPE_PFLOG    117

struct capture {
	char *path;
	int linktype;
	uint64_t frames;
	void *pcap;   /* pcap_t */
	void *dumper; /* pcap_dumper_t */
};

/* Bytes of stdio buffer a capture writes through: large for the first
 * CAPTURE_BIG_MAX captures of a run (a few write calls instead of one every
 * 4 KiB), small for the rest, so that capturing 10,000 links does not
 * hold gigabytes. */
#define CAPTURE_BUF_BIG   (256u << 10)
#define CAPTURE_BUF_SMALL (16u << 10)
#define CAPTURE_BIG_MAX   64
/* Open a capture file writing through a buffer of bufsize bytes; NULL
 * with a message in err on failure. */
struct capture *capture_open(const char *path, int linktype, size_t bufsize, char *err,
			     size_t errlen);
void capture_write(struct capture *c, uint64_t t_ns, const uint8_t *data, size_t len);
void capture_close(struct capture *c);

#endif
