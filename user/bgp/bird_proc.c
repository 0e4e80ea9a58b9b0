/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenace's own BIRD process. It runs in its own session so that it outlives
 * a crashed controller, like the data plane does: the node keeps forwarding
 * and announcing with what it had, and the restarted controller takes BIRD
 * over (its pid file, its command line naming our socket) instead of
 * flapping every session.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bgp/bird.h"
#include "lib/file.h"

extern char **environ;

/* The path of `name` in PATH (executable), or false. Looked up before
 * spawning so that a missing BIRD makes no child at all. */
static bool find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	for (p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; *p; p = end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if (end > p && snprintf(out, len, "%.*s/%s", (int)(end - p), p, name) < (int)len &&
		    access(out, X_OK) == 0)
			return true;
		if (*end == ':')
			end++;
	}
	return false;
}

int tn_bird_start(struct tn_bird_proc *p, const struct tn_bird_paths *paths, char *err, size_t errlen)
{
	char *argv[] = { "bird", "-f", "-c", (char *)paths->conf, "-s", (char *)paths->socket,
			 "-P", (char *)paths->pid, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defaults;
	char exe[4096];
	pid_t pid;
	int e;

	if (!find_in_path("bird", exe, sizeof(exe))) {
		snprintf(err, errlen, "cannot start BIRD: no `bird` in PATH (Debian package bird2)");
		return -ENOENT;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	/* the controller blocks SIGTERM/SIGHUP for its signalfd: BIRD must not inherit that */
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &defaults);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	e = posix_spawn(&pid, exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		snprintf(err, errlen, "cannot start BIRD (%s -c %s): %s", exe, paths->conf, strerror(e));
		return -e;
	}
	p->pid = pid;
	p->child = true;
	return 0;
}

/* Does /proc/PID/cmdline run bird with `-s SOCKET`? */
static bool runs_our_bird(pid_t pid, const char *socket)
{
	char path[64], *text = NULL;
	size_t len = 0, i = 0;
	bool bird = false, ours = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (tn_file_read(path, 64 * 1024, &text, &len))
		return false;
	while (i < len) {
		const char *arg = text + i;
		size_t n = strlen(arg);

		if (i == 0) {
			const char *base = strrchr(arg, '/');

			bird = !strcmp(base ? base + 1 : arg, "bird");
		} else if (!strcmp(arg, "-s") && i + n + 1 < len) {
			ours = !strcmp(arg + n + 1, socket);
		}
		i += n + 1;
	}
	free(text);
	return bird && ours;
}

bool tn_bird_find_running(struct tn_bird_proc *p, const struct tn_bird_paths *paths)
{
	char *text = NULL;
	size_t len;
	long pid;

	if (tn_file_read(paths->pid, 64, &text, &len))
		return false;
	pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || kill((pid_t)pid, 0) || !runs_our_bird((pid_t)pid, paths->socket))
		return false;
	p->pid = (pid_t)pid;
	p->child = false;
	return true;
}

/* A process not ours that exited stays a zombie until its parent reaps it. */
static bool zombie(pid_t pid)
{
	char path[64], *text = NULL, *close_paren;
	size_t len;
	bool z = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (tn_file_read(path, 4096, &text, &len))
		return true;
	close_paren = strrchr(text, ')');
	z = !close_paren || close_paren[1] != ' ' || close_paren[2] == 'Z' || close_paren[2] == 'X';
	free(text);
	return z;
}

bool tn_bird_alive(struct tn_bird_proc *p, int *status)
{
	int st = 0;

	if (status)
		*status = -1;
	if (!p->pid)
		return false;
	if (p->child) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == 0)
			return true;
		if (r == p->pid) {
			if (status)
				*status = st;
			p->pid = 0;
			return false;
		}
		p->child = false; /* not ours after all: fall back to kill(0) */
	}
	if ((kill(p->pid, 0) == 0 || errno == EPERM) && !zombie(p->pid))
		return true;
	p->pid = 0;
	return false;
}

void tn_bird_stop(struct tn_bird_proc *p, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (!tn_bird_alive(p, NULL))
		return;
	kill(p->pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (!tn_bird_alive(p, NULL))
			return;
		nanosleep(&ts, NULL);
	}
	kill(p->pid, SIGKILL);
	for (int i = 0; i < 50 && tn_bird_alive(p, NULL); i++)
		nanosleep(&ts, NULL);
	p->pid = 0;
}
