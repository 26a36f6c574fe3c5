#include "pkt.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pkt *pkt_alloc(size_t headroom, size_t len)
{
	struct pkt *p = xcalloc(1, sizeof(*p));
	p->cap = headroom + len + PKT_TAILROOM;
	p->buf = xmalloc(p->cap);
	p->data = p->buf + headroom;
	p->len = len;
	return p;
}

struct pkt *pkt_from(const void *bytes, size_t len, size_t headroom)
{
	struct pkt *p = pkt_alloc(headroom, len);
	if (len)
		memcpy(p->data, bytes, len);
	return p;
}

struct pkt *pkt_clone(const struct pkt *p)
{
	struct pkt *c = pkt_from(p->data, p->len, (size_t)(p->data - p->buf));
	c->rcvif = p->rcvif;
	c->flags = p->flags;
	c->ipsec_flags = p->ipsec_flags;
	c->in_done = p->in_done;
	memcpy(c->in_all, p->in_all, sizeof(c->in_all));
	c->nin_all = p->nin_all;
	memcpy(c->out_done, p->out_done, sizeof(c->out_done));
	c->nout_done = p->nout_done;
	return c;
}

void pkt_reset_meta(struct pkt *p)
{
	p->flags = 0;
	p->ipsec_flags = 0;
	p->in_done = (struct pkt_sa){0};
	memset(p->in_all, 0, sizeof(p->in_all));
	p->nin_all = 0;
	memset(p->out_done, 0, sizeof(p->out_done));
	p->nout_done = 0;
	p->encap_sport = 0;
	p->has_sl = false;
}

void pkt_set_seclevel(struct pkt *p, const struct seclevel *sl)
{
	p->has_sl = !seclevel_plain(sl);
	if (p->has_sl)
		p->sl = *sl;
}

void pkt_free(struct pkt *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

uint8_t *pkt_push(struct pkt *p, size_t n)
{
	size_t head = (size_t)(p->data - p->buf);
	if (head < n) {
		size_t tail = p->cap - head - p->len;
		size_t nhead = n + PKT_HEADROOM;
		uint8_t *nbuf = xmalloc(nhead + p->len + tail);
		memcpy(nbuf + nhead, p->data, p->len);
		free(p->buf);
		p->buf = nbuf;
		p->cap = nhead + p->len + tail;
		p->data = nbuf + nhead;
	}
	p->data -= n;
	p->len += n;
	return p->data;
}

void pkt_pull(struct pkt *p, size_t n)
{
	p->data += n;
	p->len -= n;
}

void pkt_trim(struct pkt *p, size_t len)
{
	p->len = len;
}

uint8_t *pkt_put(struct pkt *p, size_t n)
{
	size_t head = (size_t)(p->data - p->buf);
	if (p->cap - head - p->len < n) {
		p->cap = head + p->len + n + 64;
		uint8_t *nbuf = xrealloc(p->buf, p->cap);
		p->data = nbuf + head;
		p->buf = nbuf;
	}
	uint8_t *at = p->data + p->len;
	p->len += n;
	return at;
}

void pktq_push(struct pktq *q, struct pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->len++;
}

struct pkt *pktq_pop(struct pktq *q)
{
	struct pkt *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	p->next = NULL;
	q->len--;
	return p;
}

void pktq_purge(struct pktq *q)
{
	struct pkt *p;
	while ((p = pktq_pop(q)))
		pkt_free(p);
}
