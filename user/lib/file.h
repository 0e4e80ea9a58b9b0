/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Files that must never be seen half-written (the configuration, the
 * applied state): whole reads, atomic replacement, parent directories. */
#ifndef TENACE_LIB_FILE_H
#define TENACE_LIB_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* The whole file, NUL-terminated (malloc'd), at most max bytes:
 * 0, -EFBIG, -ENOMEM or -errno of open/read. */
int tn_file_read(const char *path, size_t max, char **text, size_t *len);
/*
 * Replace path with text atomically: a temporary file beside it (so rename
 * stays on one file system), fsync, rename, fsync of the directory. The mode
 * of the file replaced is kept (default_mode for a new one). 0 or -errno.
 */
int tn_file_write_atomic(const char *path, const char *text, size_t len, mode_t default_mode);
/* Create the directory that will hold path (and its parents): 0 or -errno. */
int tn_mkdir_parent(const char *path, mode_t mode);

#endif /* TENACE_LIB_FILE_H */
