/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Helpers shared by the commands. */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include "cmd/cmd.h"
#include "lib/log.h"
#include "lib/num.h"

int cmd_parse_u32(const char *opt, const char *s, uint32_t *out)
{
	if (tn_parse_u32(s, 0, UINT32_MAX, out)) {
		tn_err("--%s expects a number from 0 to %u, got \"%s\"", opt, UINT32_MAX, s);
		return -EINVAL;
	}
	return 0;
}

int cmd_ifindex(const char *name)
{
	int i = if_nametoindex(name);

	if (!i)
		tn_err("interface %s: %s", name, strerror(errno));
	return i;
}
