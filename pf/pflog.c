/*
 * pflog0 (if_pflog.c: pflog_packet) and pf's own packets (block return),
 * and pfctl's views: -vsr, -ss, -si.
 */
#include <stdlib.h>
#include <string.h>

#include "../sim/capture.h"
#include "../sim/sim.h"
#include "../stack/icmp.h"
#include "../stack/icmp6.h"
#include "../stack/ip4.h"
#include "../stack/ip6.h"
#include "../stack/tcp.h"
#include "../stack/tcp_var.h"
#include "../stack/util.h"
#include "pf_var.h"

#define PFLOG_HDRLEN 100         /* sizeof(struct pfloghdr) */
#define PF_RULE_DEF  0xffffffffu /* the default rule: "rule def" */
#define PF_UID_MAX   0xffffffffu /* UID_MAX: no socket looked up */
#define PF_NO_PID    100000u     /* NO_PID: PID_MAX + 1 */
#define PF_AF_INET   2
#define PF_AF_INET6  24 /* OpenBSD's AF_INET6 */

void pf_add_pflog(struct node *n, struct capture *c)
{
	n->pflogs = xgrow(n->pflogs, n->npflogs, sizeof(*n->pflogs));
	n->pflogs[n->npflogs++] = c;
}

static void put_host32(uint8_t *at, uint32_t v)
{
	memcpy(at, &v, 4); /* host order, as pflog writes these four */
}

/* struct pfloghdr, then the packet as it leaves the hook (translated when
 * pf translated it: the header's addresses are the translated ones). */
void pflog_packet(struct node *n, const struct pf_pdesc *pd, const struct pf_rule *r,
		  uint8_t action, uint8_t reason, const struct pkt *p)
{
	node_count(n, STAT_PF_LOGGED);
	if (!n->npflogs)
		return;
	uint8_t *f = xcalloc(1, PFLOG_HDRLEN + p->len);
	f[0] = PFLOG_HDRLEN;
	f[1] = pd->af == ADDR_V6 ? PF_AF_INET6 : PF_AF_INET;
	f[2] = action;
	f[3] = reason;
	snprintf((char *)f + 4, 16, "%s", pd->ifname);
	put_be32(f + 36, r ? r->nr : PF_RULE_DEF);
	put_be32(f + 40, PF_RULE_DEF); /* subrulenr: not in an anchor */
	put_host32(f + 44, PF_UID_MAX);
	put_host32(f + 48, PF_NO_PID);
	put_host32(f + 52, 0); /* rule_uid: loaded by root */
	put_host32(f + 56, 0);
	f[60] = pd->dir == PF_IN ? 1 : 2;
	f[61] = pd->rewritten;
	f[62] = f[1];
	unsigned al = addr_len(pd->af);
	if (pd->src.af == pd->af)
		memcpy(f + 64, pd->src.a, al);
	if (pd->dst.af == pd->af)
		memcpy(f + 80, pd->dst.a, al);
	put_be16(f + 96, pd->sport);
	put_be16(f + 98, pd->dport);
	memcpy(f + PFLOG_HDRLEN, p->data, p->len);
	for (unsigned i = 0; i < n->npflogs; i++)
		capture_write(n->pflogs[i], n->sim->now, f, PFLOG_HDRLEN + p->len);
	free(f);
}

/* block return: a RST for TCP (not for a RST), port unreachable for the
 * rest (pf_send_tcp, pf_send_icmp); pf lets its own packets by. */
void pf_send_return(struct node *n, struct pf *pf, const struct pkt *p, const struct pf_pdesc *pd)
{
	pf->generating = true;
	if (pd->proto == IPPROTO_TCP && !pd->fragment) {
		if (!(pd->tcp_flags & TH_RST)) {
			const uint8_t *t = p->data + pd->off;
			size_t hl = (size_t)(t[12] >> 4) * 4;
			uint32_t seq = get_be32(t + 4), ack = get_be32(t + 8);
			uint32_t len =
			    (uint32_t)(pd->tot_len - pd->off - MIN(hl, pd->tot_len - pd->off));
			if (pd->tcp_flags & TH_SYN)
				len++;
			if (pd->tcp_flags & TH_FIN)
				len++;
			/* seq = their ack, ack = their seq + length */
			struct pkt *r = pkt_alloc(PKT_HEADROOM, TCP_HDR_LEN);
			struct tcp_hdr h = {.sport = pd->dport,
					    .dport = pd->sport,
					    .seq = (pd->tcp_flags & TH_ACK) ? ack : 0,
					    .ack = seq + len,
					    .flags = TH_RST | TH_ACK};
			tcp_emit(r->data, &h);
			tcp_ip_output(n, r, &pd->dst, &pd->src, false);
		}
	} else if (pd->af == ADDR_V4) {
		icmp_error(n, p, ICMP_UNREACH, ICMP_UNREACH_PORT, 0);
	} else {
		icmp6_error(n, p, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0);
	}
	pf->generating = false;
}

/* ---- pfctl ---- */

void pf_show_rules(struct node *n, FILE *f)
{
	const struct pf *pf = n->pf;
	if (!pf)
		return;
	for (unsigned i = 0; i < pf->nrules; i++) {
		const struct pf_rule *r = &pf->rules[i];
		fprintf(f, "@%u %s\n", r->nr, r->text);
		fprintf(
		    f,
		    "  [ Evaluations: %-8llu  Packets: %-8llu  Bytes: %-10llu  States: %-6llu]\n",
		    (unsigned long long)r->evaluations,
		    (unsigned long long)(r->packets[0] + r->packets[1]),
		    (unsigned long long)(r->bytes[0] + r->bytes[1]),
		    (unsigned long long)r->states_cur);
	}
}

static const char *peer_name(uint8_t proto, uint8_t st)
{
	static const char *const tcps[] = {"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RCVD",
					   "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING",
					   "LAST_ACK",    "FIN_WAIT_2", "TIME_WAIT"};
	static const char *const others[] = {"NO_TRAFFIC", "SINGLE", "MULTIPLE"};
	if (proto == IPPROTO_TCP)
		return st < ARRAY_LEN(tcps) ? tcps[st] : "?";
	return st < ARRAY_LEN(others) ? others[st] : "?";
}

static void hostport(char *b, size_t cap, const struct ipaddr *a, uint16_t port, uint8_t proto)
{
	char s[ADDR_STRLEN];
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMP ||
	    proto == IPPROTO_ICMPV6)
		snprintf(b, cap, a->af == ADDR_V6 ? "[%s]:%u" : "%s:%u", addr_fmt(a, s), port);
	else
		snprintf(b, cap, "%s", addr_fmt(a, s));
}

/* pfctl -ss: "all PROTO SRC (ORIG) -> DST  STATE:STATE", out states as
 * src -> dst, in states as dst <- src. */
void pf_show_states(struct node *n, FILE *f)
{
	const struct pf *pf = n->pf;
	if (!pf)
		return;
	for (const struct pf_state *s = pf->head; s; s = s->next) {
		const struct pf_skey *st = &s->key[PF_SK_STACK], *w = &s->key[PF_SK_WIRE];
		const char *pn = pf_proto_name(st->proto);
		char pbuf[8], a[80], b[80], c[80];
		if (!pn) {
			snprintf(pbuf, sizeof(pbuf), "%u", st->proto);
			pn = pbuf;
		}
		bool tr = memcmp(st, w, sizeof(*st)) != 0;
		if (s->direction == PF_OUT) {
			/* the local side is index 1 */
			hostport(a, sizeof(a), &w->addr[1], w->port[1], st->proto);
			hostport(b, sizeof(b), &st->addr[1], st->port[1], st->proto);
			hostport(c, sizeof(c), &st->addr[0], st->port[0], st->proto);
			fprintf(f, "all %s %s", pn, tr ? a : b);
			if (tr)
				fprintf(f, " (%s)", b);
			fprintf(f, " -> %s", c);
		} else {
			hostport(a, sizeof(a), &st->addr[1], st->port[1], st->proto);
			hostport(b, sizeof(b), &w->addr[1], w->port[1], st->proto);
			hostport(c, sizeof(c), &w->addr[0], w->port[0], st->proto);
			fprintf(f, "all %s %s", pn, a);
			if (tr)
				fprintf(f, " (%s)", b);
			fprintf(f, " <- %s", c);
		}
		if (st->proto == IPPROTO_ICMP || st->proto == IPPROTO_ICMPV6)
			fprintf(f, "       0:0\n"); /* ICMP states have no peers' states */
		else
			fprintf(f, "       %s:%s\n", peer_name(st->proto, s->src.state),
				peer_name(st->proto, s->dst.state));
	}
}

void pf_show_info(struct node *n, FILE *f)
{
	fprintf(f, "State Table                          Total\n");
	fprintf(f, "  current entries               %10llu\n",
		(unsigned long long)pf_state_count(n));
	fprintf(f, "  searches                      %10llu\n",
		(unsigned long long)n->stats[STAT_PF_SEARCHES]);
	fprintf(f, "  inserts                       %10llu\n",
		(unsigned long long)n->stats[STAT_PF_INSERTS]);
	fprintf(f, "  removals                      %10llu\n",
		(unsigned long long)n->stats[STAT_PF_REMOVALS]);
	fprintf(f, "Counters\n");
	static const struct {
		const char *name;
		enum stat_id id;
	} c[] = {{"match", STAT_PF_MATCH},
		 {"fragment", STAT_PF_FRAGMENT},
		 {"short", STAT_PF_SHORT},
		 {"memory", STAT_PF_MEMORY},
		 {"state-mismatch", STAT_PF_STATE_MISMATCH},
		 {"state-insert", STAT_PF_STATE_INSERT},
		 {"translate", STAT_PF_TRANSLATE}};
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		fprintf(f, "  %-30s%10llu\n", c[i].name, (unsigned long long)n->stats[c[i].id]);
}
