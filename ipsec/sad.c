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

/* A destination as two words, zero-padded: what slots hold and hash. */
static void dst_words(const struct ipaddr *dst, uint64_t w[2])
{
	uint8_t b[16] = {0};
	memcpy(b, dst->a, addr_len(dst->af));
	memcpy(w, b, sizeof(b));
}

static uint64_t key_hash(const uint64_t d[2], uint32_t spi, uint8_t sproto, uint8_t af)
{
	uint64_t h = (d[0] ^ (uint64_t)spi << 32) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 32; /* the low bits, the slot, now depend on every input bit */
	h = (h ^ d[1] ^ ((uint64_t)sproto << 56 | (uint64_t)af << 48)) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static uint64_t slot_hash(const struct sad_slot *s)
{
	uint64_t d[2];
	memcpy(d, s->dst, sizeof(d));
	return key_hash(d, s->spi, s->sproto, s->af);
}

/* The slot of (dst, spi, sproto), or the empty slot where it would go. */
static struct sad_slot *sad_slot(const struct sad *sad, const uint64_t d[2], uint32_t spi,
				 uint8_t sproto, uint8_t af)
{
	size_t mask = sad->cap - 1;
	for (size_t i = (size_t)key_hash(d, spi, sproto, af) & mask;; i = (i + 1) & mask) {
		struct sad_slot *s = &sad->slots[i];
		if (!s->t || (s->spi == spi && s->sproto == sproto && s->af == af &&
			      memcmp(s->dst, d, sizeof(s->dst)) == 0))
			return s;
	}
}

struct tdb *sad_lookup(const struct sad *sad, const struct ipaddr *dst, uint32_t spi,
		       uint8_t sproto)
{
	if (!sad->cap)
		return NULL;
	uint64_t d[2];
	dst_words(dst, d);
	return sad_slot(sad, d, spi, sproto, dst->af)->t;
}

static uint64_t dst_hash(const struct ipaddr *dst, uint8_t sproto)
{
	uint64_t d[2];
	dst_words(dst, d);
	return key_hash(d, 0, sproto, dst->af);
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

static void by_dst_push(struct tdb **head, struct tdb *t)
{
	t->dprev = NULL;
	t->dnext = *head;
	if (*head)
		(*head)->dprev = t;
	*head = t;
}

static void sad_grow(struct sad *sad)
{
	struct sad_slot *old = sad->slots;
	size_t oldcap = sad->cap;
	sad->cap = oldcap ? oldcap * 2 : 32;
	sad->slots = xcalloc(sad->cap, sizeof(*sad->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].t) {
			uint64_t d[2];
			memcpy(d, old[i].dst, sizeof(d));
			*sad_slot(sad, d, old[i].spi, old[i].sproto, old[i].af) = old[i];
		}
	free(old);
	/* the destination chains: oldest first, each pushed in front, so the
	 * newest of a destination leads its chain again */
	free(sad->by_dst);
	sad->nbuckets = sad->cap / 2;
	sad->by_dst = xcalloc(sad->nbuckets, sizeof(*sad->by_dst));
	for (struct tdb *t = sad->head; t; t = t->next)
		by_dst_push(&sad->by_dst[dst_hash(&t->dst, t->sproto) & (sad->nbuckets - 1)], t);
}

int sad_insert(struct sad *sad, struct tdb *t)
{
	if (sad_lookup(sad, &t->dst, t->spi, t->sproto))
		return -1;
	t->next = NULL;
	t->prev = sad->tail;
	if (sad->tail)
		sad->tail->next = t;
	else
		sad->head = t;
	sad->tail = t;
	sad->count++;
	sad->gen++;
	if (sad->count * 2 > sad->cap) {
		sad_grow(sad); /* it chains t too */
	} else {
		by_dst_push(&sad->by_dst[dst_hash(&t->dst, t->sproto) & (sad->nbuckets - 1)], t);
	}
	uint64_t d[2];
	dst_words(&t->dst, d);
	struct sad_slot *s = sad_slot(sad, d, t->spi, t->sproto, t->dst.af);
	*s = (struct sad_slot){.spi = t->spi, .sproto = t->sproto, .af = t->dst.af, .t = t};
	memcpy(s->dst, d, sizeof(d));
	return 0;
}

void sad_remove(struct sad *sad, struct tdb *t)
{
	uint64_t d[2];
	dst_words(&t->dst, d);
	struct sad_slot *s = sad_slot(sad, d, t->spi, t->sproto, t->dst.af);
	/* Backward shift: pull up each later slot of the run whose home is
	 * not between the hole and it, so no probe stops short. */
	size_t mask = sad->cap - 1, hole = (size_t)(s - sad->slots);
	for (size_t j = (hole + 1) & mask; sad->slots[j].t; j = (j + 1) & mask) {
		size_t home = (size_t)slot_hash(&sad->slots[j]) & mask;
		if (!probe_stays(hole, j, home)) {
			sad->slots[hole] = sad->slots[j];
			hole = j;
		}
	}
	sad->slots[hole] = (struct sad_slot){0};
	if (t->dprev)
		t->dprev->dnext = t->dnext;
	else
		sad->by_dst[dst_hash(&t->dst, t->sproto) & (sad->nbuckets - 1)] = t->dnext;
	if (t->dnext)
		t->dnext->dprev = t->dprev;
	t->dnext = t->dprev = NULL;
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
		free(sad->slots);
		free(sad->by_dst);
		sad->slots = NULL;
		sad->by_dst = NULL;
		sad->cap = sad->nbuckets = 0;
	}
}

void sad_memory(const struct sad *sad, struct mem_use *tdb, struct mem_use *xform)
{
	tdb->bytes += sad->cap * sizeof(*sad->slots) + sad->nbuckets * sizeof(*sad->by_dst);
	for (const struct tdb *t = sad->head; t; t = t->next) {
		mem_add(tdb, 1,
			sizeof(*t) + t->authkeylen + t->enckeylen +
			    (t->srcid ? strlen(t->srcid) + 1 : 0) +
			    (t->dstid ? strlen(t->dstid) + 1 : 0));
		if (t->xf)
			mem_add(xform, 1, xform_memory(t->xf));
	}
}
