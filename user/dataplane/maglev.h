/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016), built in
 * user space. The table depends only on the servers' identity tags, weights
 * and the table size: two balancers with the same configuration build the
 * same table byte for byte, and a change moves as few entries as it can.
 */
#ifndef TENACE_MAGLEV_H
#define TENACE_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct tn_maglev_server {
	uint32_t tag;     /* identity: decides the server's permutation */
	uint16_t weight;  /* 0 = absent from the table */
	uint16_t slot;    /* value written into the table for this server */
};

/* 1 if n is prime. */
int tn_is_prime(uint32_t n);

/*
 * Fill table[0..size) with the slots of the servers, each owning a share of
 * entries proportional to its weight: size * weight / sum of weights, within
 * one entry. size must be a prime larger than the number of servers and at
 * most TN_TABLE_SIZE_MAX. Entries are 0xffff when no server has a weight.
 * O(size log n) for any weights. Returns 0, -EINVAL (bad size or too many
 * servers) or -ENOMEM.
 */
int tn_maglev_build(uint16_t *table, uint32_t size, const struct tn_maglev_server *servers, size_t n);

#endif /* TENACE_MAGLEV_H */
