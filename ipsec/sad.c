#include "sad.h"

#include "ipcomp.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../stack/mem.h"
#include "../stack/util.h"
#include "xform.h"

uint8_t satype_to_sproto(uint8_t satype)
{
	switch (satype) {
	case SADB_SATYPE_AH: return IPPROTO_AH;
	case SADB_SATYPE_ESP: return IPPROTO_ESP;
	case SADB_X_SATYPE_IPIP: return IPPROTO_IPIP;
	case SADB_X_SATYPE_IPCOMP: return IPPROTO_IPCOMP;
	case SADB_X_SATYPE_TCPSIGNATURE: return 6;
	default: return 0;
	}
}

static uint64_t tdb_hash(const struct ipaddr *dst, uint32_t spi, uint8_t sproto)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)spi << 8 | sproto);
	for (unsigned i = 0; i < addr_len(dst->af); i++) {
		h ^= dst->a[i];
		h *= 0x100000001b3ULL;
	}
	h ^= spi;
	h *= 0x9e3779b97f4a7c15ULL; /* spread the SPI, the usual variable part */
	return h ^ (h >> 31);
}

struct tdb *sad_lookup(const struct sad *sad, const struct ipaddr *dst, uint32_t spi,
		       uint8_t sproto)
{
	if (!sad->nbuckets)
		return NULL;
	struct tdb *t = sad->buckets[tdb_hash(dst, spi, sproto) & (sad->nbuckets - 1)];
	for (; t; t = t->hnext)
		if (t->spi == spi && t->sproto == sproto && addr_eq(&t->dst, dst))
			return t;
	return NULL;
}

static uint64_t dst_hash(const struct ipaddr *dst, uint8_t sproto)
{
	return tdb_hash(dst, 0, sproto);
}

struct tdb *sad_first_to(const struct sad *sad, const struct ipaddr *dst, uint8_t sproto)
{
	if (!sad->nbuckets)
		return NULL;
	struct tdb *t = sad->by_dst[dst_hash(dst, sproto) & (sad->nbuckets - 1)];
	while (t && (t->sproto != sproto || !addr_eq(&t->dst, dst)))
		t = t->dnext;
	return t;
}

struct tdb *sad_next_to(const struct tdb *t, const struct ipaddr *dst, uint8_t sproto)
{
	struct tdb *n = t->dnext;
	while (n && (n->sproto != sproto || !addr_eq(&n->dst, dst)))
		n = n->dnext;
	return n;
}

static void sad_grow(struct sad *sad)
{
	size_t n = sad->nbuckets ? sad->nbuckets * 2 : 32;
	struct tdb **b = xcalloc(n, sizeof(*b)), **d = xcalloc(n, sizeof(*d));
	/* oldest first, each pushed in front: the newest of a destination
	 * leads its chain again */
	for (struct tdb *t = sad->head; t; t = t->next) {
		size_t k = tdb_hash(&t->dst, t->spi, t->sproto) & (n - 1);
		t->hnext = b[k];
		b[k] = t;
		k = dst_hash(&t->dst, t->sproto) & (n - 1);
		t->dnext = d[k];
		d[k] = t;
	}
	free(sad->buckets);
	free(sad->by_dst);
	sad->buckets = b;
	sad->by_dst = d;
	sad->nbuckets = n;
}

int sad_insert(struct sad *sad, struct tdb *t)
{
	if (sad_lookup(sad, &t->dst, t->spi, t->sproto))
		return -1;
	if (sad->count >= sad->nbuckets)
		sad_grow(sad);
	size_t k = tdb_hash(&t->dst, t->spi, t->sproto) & (sad->nbuckets - 1);
	t->hnext = sad->buckets[k];
	sad->buckets[k] = t;
	k = dst_hash(&t->dst, t->sproto) & (sad->nbuckets - 1);
	t->dnext = sad->by_dst[k];
	sad->by_dst[k] = t;
	t->next = NULL;
	t->prev = sad->tail;
	if (sad->tail)
		sad->tail->next = t;
	else
		sad->head = t;
	sad->tail = t;
	sad->count++;
	sad->gen++;
	return 0;
}

void sad_remove(struct sad *sad, struct tdb *t)
{
	struct tdb **pp = &sad->buckets[tdb_hash(&t->dst, t->spi, t->sproto) & (sad->nbuckets - 1)];
	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	pp = &sad->by_dst[dst_hash(&t->dst, t->sproto) & (sad->nbuckets - 1)];
	while (*pp != t)
		pp = &(*pp)->dnext;
	*pp = t->dnext;
	if (t->prev)
		t->prev->next = t->next;
	else
		sad->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		sad->tail = t->prev;
	/* Unchain it from a bundle so no SA points at freed memory. */
	if (t->onext)
		t->onext->inext = NULL;
	if (t->inext)
		t->inext->onext = NULL;
	t->onext = t->inext = NULL;
	sad->count--;
	sad->gen++;
}

void tdb_free(struct tdb *t)
{
	if (!t)
		return;
	ipcomp_free(t);
	/* Keys never outlive their SA (OpenBSD's tdb_free zeroes them too). */
	if (t->authkey) {
		OPENSSL_cleanse(t->authkey, t->authkeylen);
		free(t->authkey);
	}
	if (t->enckey) {
		OPENSSL_cleanse(t->enckey, t->enckeylen);
		free(t->enckey);
	}
	xform_ctx_free(t->xf);
	free(t->srcid);
	free(t->dstid);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

void sad_flush(struct sad *sad, uint8_t satype)
{
	struct tdb *t = sad->head, *next;
	for (; t; t = next) {
		next = t->next; /* removal touches bundle links only, not this list */
		if (satype == SADB_SATYPE_UNSPEC || t->satype == satype) {
			sad_remove(sad, t);
			tdb_free(t);
		}
	}
	if (sad->count == 0) {
		free(sad->buckets);
		free(sad->by_dst);
		sad->buckets = sad->by_dst = NULL;
		sad->nbuckets = 0;
	}
}

void sad_memory(const struct sad *sad, struct mem_use *tdb, struct mem_use *xform)
{
	tdb->bytes += sad->nbuckets * (sizeof(*sad->buckets) + sizeof(*sad->by_dst));
	for (const struct tdb *t = sad->head; t; t = t->next) {
		mem_add(tdb, 1,
			sizeof(*t) + t->authkeylen + t->enckeylen +
			    (t->srcid ? strlen(t->srcid) + 1 : 0) +
			    (t->dstid ? strlen(t->dstid) + 1 : 0));
		if (t->xf)
			mem_add(xform, 1, xform_memory(t->xf));
	}
}
