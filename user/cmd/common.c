/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Helpers shared by the commands. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include "cmd/cmd.h"
#include "dataplane/dataplane.h"
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

int cmd_lock_pin_dir(const char *pin_dir, const char *who)
{
	int fd;

	if (tn_dp_pin_dir_ensure(pin_dir))
		return -1;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		tn_err("cannot create pin directory %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tn_err("cannot open pin directory %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			tn_err("another tenace controller is running on pin directory %s (%s refused: it owns that "
			       "data plane; stop it first, or change it through its API)", pin_dir, who);
		else
			tn_err("cannot lock pin directory %s: %s", pin_dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
