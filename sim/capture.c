#include "capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "../stack/util.h"

#define CAPTURE_SNAPLEN 262144

struct capture *capture_open(const char *path, int linktype, char *err, size_t errlen)
{
	/* Nanosecond files: virtual time is in ns and we keep all of it. */
	pcap_t *pd = pcap_open_dead_with_tstamp_precision(linktype, CAPTURE_SNAPLEN,
							  PCAP_TSTAMP_PRECISION_NANO);
	if (!pd) {
		snprintf(err, errlen, "cannot create a pcap handle");
		return NULL;
	}
	pcap_dumper_t *d = pcap_dump_open(pd, path);
	if (!d) {
		snprintf(err, errlen, "%s", pcap_geterr(pd));
		pcap_close(pd);
		return NULL;
	}
	struct capture *c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->linktype = linktype;
	c->pcap = pd;
	c->dumper = d;
	return c;
}

void capture_write(struct capture *c, uint64_t t_ns, const uint8_t *data, size_t len)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(t_ns / 1000000000ULL);
	h.ts.tv_usec = (suseconds_t)(t_ns % 1000000000ULL); /* ns in a nano file */
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(len < CAPTURE_SNAPLEN ? len : CAPTURE_SNAPLEN);
	pcap_dump((u_char *)c->dumper, &h, data);
	c->frames++;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	pcap_dump_close(c->dumper);
	pcap_close(c->pcap);
	free(c->path);
	free(c);
}
