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

/* Open a capture file; NULL with a message in err on failure. */
struct capture *capture_open(const char *path, int linktype, char *err, size_t errlen);
void capture_write(struct capture *c, uint64_t t_ns, const uint8_t *data, size_t len);
void capture_close(struct capture *c);

#endif
