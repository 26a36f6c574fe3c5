/*
 * Seeded pseudo-random streams.  Every consumer (a node, a link direction)
 * owns a stream derived from the scenario seed and its own stable name, so
 * adding a node does not change the draws of any other.  xoshiro256** seeded
 * through splitmix64; nothing here reads a clock or calls rand().
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Probabilities are kept as parts per billion so that "0.5%" is exact. */
#define RNG_PPB_ONE 1000000000u

void rng_seed(struct rng *r, uint64_t seed, const char *stream);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* True with probability ppb / 10^9; draws nothing when ppb is 0. */
bool rng_chance(struct rng *r, uint32_t ppb);
void rng_bytes(struct rng *r, void *out, unsigned long n);

#endif
