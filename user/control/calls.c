/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every call of the controller that leaves the process: the backend (bpf
 * syscalls, netlink, the Maglev build inside farm_write), files (fsync) and
 * sleeps. Each asserts that this thread does not hold the state lock, and
 * the data-plane ones that it holds the writer lock.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "control/internal.h"
#include "lib/file.h"

#define DP_CALL() do { ASSERT_STATE_FREE(); ASSERT_WRITER(); } while (0)

int call_farm_write(struct tn_ctl *ctl, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	DP_CALL();
	return ctl->be.farm_write ? ctl->be.farm_write(ctl->be.ctx, slot, f, gen) : 0;
}

int call_farm_clear(struct tn_ctl *ctl, uint32_t slot)
{
	DP_CALL();
	return ctl->be.farm_clear ? ctl->be.farm_clear(ctl->be.ctx, slot) : 0;
}

int call_farm_build(struct tn_ctl *ctl, int slot, const struct tn_dp_farm *f, struct tn_farm *out)
{
	DP_CALL();
	return ctl->be.farm_build ? ctl->be.farm_build(ctl->be.ctx, slot, f, out) : -ENOTSUP;
}

/* The slot's whole value (header, servers, table) into out. */
int call_farm_table(struct tn_ctl *ctl, int slot, struct tn_farm *out)
{
	DP_CALL();
	if (!ctl->be.farm_table)
		return -ENOTSUP;
	return ctl->be.farm_table(ctl->be.ctx, (uint32_t)slot, &out->hdr, out->servers, out->table);
}

int call_ct_foreach(struct tn_ctl *ctl, tn_ct_fn fn, void *arg)
{
	DP_CALL();
	return ctl->be.ct_foreach ? ctl->be.ct_foreach(ctl->be.ctx, fn, arg) : -ENOTSUP;
}

int call_farm_read(struct tn_ctl *ctl, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers)
{
	DP_CALL();
	return ctl->be.farm_read ? ctl->be.farm_read(ctl->be.ctx, slot, hdr, servers) : -ENOTSUP;
}

int call_vips_replace(struct tn_ctl *ctl, const struct tn_vip_key *k, const struct tn_vip *v, size_t n)
{
	DP_CALL();
	return ctl->be.vips_replace ? ctl->be.vips_replace(ctl->be.ctx, k, v, n) : 0;
}

int call_vips_dump(struct tn_ctl *ctl, struct tn_vip_key **k, struct tn_vip **v, size_t *n)
{
	DP_CALL();
	return ctl->be.vips_dump ? ctl->be.vips_dump(ctl->be.ctx, k, v, n) : -ENOTSUP;
}

int call_filters_set(struct tn_ctl *ctl, uint32_t idx, bool allow, const struct tn_dp_prefix *p, size_t n)
{
	DP_CALL();
	return ctl->be.filters_set ? ctl->be.filters_set(ctl->be.ctx, idx, allow, p, n) : 0;
}

int call_tx_port_add(struct tn_ctl *ctl, uint32_t ifindex)
{
	DP_CALL();
	return ctl->be.tx_port_add ? ctl->be.tx_port_add(ctl->be.ctx, ifindex) : -ENOTSUP;
}

int call_resolve(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac, struct tn_neigh_info *out,
		 char *err, size_t errlen)
{
	DP_CALL();
	return ctl->be.resolve(ctl->be.ctx, a, have_mac, true, out, err, errlen);
}

int call_reason_counters(struct tn_ctl *ctl, struct tn_counter out[TN_R__COUNT])
{
	DP_CALL();
	if (!ctl->be.reason_counters)
		return 0;
	return ctl->be.reason_counters(ctl->be.ctx, out) ?: 1;
}

int call_vip_counter(struct tn_ctl *ctl, uint32_t idx, struct tn_counter *out)
{
	DP_CALL();
	if (!ctl->be.vip_counter)
		return 0;
	return ctl->be.vip_counter(ctl->be.ctx, idx, out) ?: 1;
}

int call_server_counter(struct tn_ctl *ctl, uint32_t farm_slot, uint32_t slot, struct tn_counter *out)
{
	DP_CALL();
	if (!ctl->be.server_counter)
		return 0;
	return ctl->be.server_counter(ctl->be.ctx, farm_slot, slot, out) ?: 1;
}

int call_xdp_query(const char *name, int *ifindex, uint32_t *prog_id, const char **mode)
{
	ASSERT_STATE_FREE();
	*ifindex = (int)if_nametoindex(name);
	if (*ifindex <= 0)
		return -ENODEV;
	return tn_dp_query(*ifindex, prog_id, mode);
}

int call_file_save(const char *path, const char *text)
{
	ASSERT_STATE_FREE();
	return tn_file_write_atomic(path, text, strlen(text), 0600);
}

int call_config_save(const struct tn_config *c, const char *path)
{
	ASSERT_STATE_FREE();
	return tn_config_save_file(c, path);
}

/* The eventfd is non-blocking: this never waits (allowed under the lock). */
void call_wakeup(struct tn_ctl *ctl)
{
	uint64_t one = 1;

	if (ctl->wakeup_fd >= 0)
		(void)!write(ctl->wakeup_fd, &one, sizeof(one));
}

void call_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	ASSERT_STATE_FREE();
	nanosleep(&ts, NULL);
}
