/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/file.h"

int tn_file_read(const char *path, size_t max, char **textp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *text = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *t;

			if (len > max) {
				rc = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 16384;
			t = realloc(text, cap);
			if (!t) {
				rc = -ENOMEM;
				break;
			}
			text = t;
		}
		r = read(fd, text + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!rc && len > max)
		rc = -EFBIG;
	if (rc) {
		free(text);
		return rc;
	}
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	return 0;
}

/* The whole buffer, retrying short writes. */
static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* "dir/.name.XXXXXX" next to path, so that rename() stays on one file system. */
static int temp_name(const char *path, char **tmp, char **dir)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dlen = slash ? (int)(slash - path) : 1;

	if (!*base)
		return -EISDIR;
	if (asprintf(dir, "%.*s", slash == path ? 1 : dlen, slash ? path : ".") < 0)
		return -ENOMEM;
	if (asprintf(tmp, "%s/.%s.XXXXXX", *dir, base) < 0) {
		free(*dir);
		return -ENOMEM;
	}
	return 0;
}

int tn_file_write_atomic(const char *path, const char *text, size_t len, mode_t default_mode)
{
	char *tmp = NULL, *dir = NULL;
	struct stat st;
	mode_t mode = default_mode;
	int fd, rc;

	rc = temp_name(path, &tmp, &dir);
	if (rc)
		return rc;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* keep the mode of the file being replaced */
	if (!stat(path, &st))
		mode = st.st_mode & 07777;
	rc = fchmod(fd, mode) ? -errno : write_all(fd, text, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		rc = fsync_dir(dir); /* make the rename itself durable */
out:
	free(tmp);
	free(dir);
	return rc;
}

int tn_mkdir_parent(const char *path, mode_t mode)
{
	char *dir = strdup(path), *p;
	int rc = 0;

	if (!dir)
		return -ENOMEM;
	p = strrchr(dir, '/');
	if (!p || p == dir) {
		free(dir);
		return 0;
	}
	*p = 0;
	/* each ancestor in turn, as mkdir -p */
	for (p = dir + 1; !rc; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = 0;
		if (mkdir(dir, mode) && errno != EEXIST)
			rc = -errno;
		*p = c;
		if (!c)
			break;
	}
	free(dir);
	return rc;
}
