/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The commands of the `tenace` binary that are not API clients. */
#ifndef TENACE_CMD_H
#define TENACE_CMD_H

#include <stdint.h>

/* argv[0] is the command's name; each returns the exit status. */
int cmd_run(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);

/* --OPT's value as a number 0..UINT32_MAX: 0, or -EINVAL (logged). */
int cmd_parse_u32(const char *opt, const char *s, uint32_t *out);
/* An exclusive lock on the pin directory (created if needed), held while
 * the returned descriptor is open: one controller, or one load/unload, per
 * data plane. who names the refused action in the message. -1 (logged). */
int cmd_lock_pin_dir(const char *pin_dir, const char *who);
/* The interface's index, or 0 (logged). */
int cmd_ifindex(const char *name);

#endif /* TENACE_CMD_H */
