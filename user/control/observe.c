/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the daemon saw happen outside the controller's own calls: its once-a-
 * second check of every interface, and each SIGHUP's outcome. Kept for
 * /metrics (metrics.c), so that an alert can fire on a detach or a rejected
 * file rather than on the outage it causes.
 */
#include <stdio.h>
#include <string.h>
#include "control/internal.h"
#include "lib/time.h"

static struct seen_iface *seen(struct tn_ctl *ctl, const char *name)
{
	struct seen_iface *free_slot = NULL;

	for (size_t i = 0; i < TN_MAX_IFACES; i++) {
		struct seen_iface *x = &ctl->seen_ifaces[i];

		if (!strcmp(x->name, name))
			return x;
		if (!free_slot && !x->name[0])
			free_slot = x;
	}
	if (free_slot)
		snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	return free_slot;
}

void tn_ctl_note_attach(struct tn_ctl *ctl, const char *ifname, enum tn_ctl_attach state, bool detached)
{
	struct seen_iface *x;

	tn_ctl_lock(ctl);
	x = seen(ctl, ifname);
	if (x) {
		x->state = state;
		x->detaches += detached;
	}
	tn_ctl_unlock(ctl);
}

void tn_ctl_note_reload(struct tn_ctl *ctl, enum tn_ctl_reload_result r)
{
	tn_ctl_lock(ctl);
	ctl->reloads[r]++;
	ctl->last_reload = tn_now();
	ctl->last_reload_ok = r == TN_RELOAD_APPLIED;
	tn_ctl_unlock(ctl);
}

/* The interface's last check, NULL if never checked (state lock held). */
const struct seen_iface *observed_iface(struct tn_ctl *ctl, const char *name)
{
	ASSERT_STATE_HELD();
	for (size_t i = 0; i < TN_MAX_IFACES; i++)
		if (!strcmp(ctl->seen_ifaces[i].name, name))
			return &ctl->seen_ifaces[i];
	return NULL;
}
