/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A controller's life: new, settings, start, reload (SIGHUP), staging, free. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "lib/log.h"

struct tn_ctl *tn_ctl_new(const struct tn_ctl_backend *be, const char *config_path)
{
	struct tn_ctl *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	pthread_mutex_init(&ctl->state, NULL);
	pthread_mutex_init(&ctl->writer, NULL);
	pthread_mutex_init(&ctl->staging, NULL);
	tn_hash_init(&ctl->servers);
	tn_hash_init(&ctl->keys);
	tn_hash_init(&ctl->resolutions);
	ctl->be = *be;
	ctl->wakeup_fd = -1;
	ctl->next_task_id = 1;
	ctl->started = tn_now();
	if (config_path && !(ctl->config_path = strdup(config_path))) {
		tn_ctl_free(ctl);
		return NULL;
	}
	return ctl;
}

void tn_ctl_free(struct tn_ctl *ctl)
{
	if (!ctl)
		return;
	tn_config_free(&ctl->applied);
	tn_config_free(&ctl->staged);
	ctl_tables_free(ctl);
	for (size_t i = 0; i < MAX_TASKS; i++) {
		free(ctl->tasks[i].zone);
		free(ctl->tasks[i].message);
	}
	free(ctl->config_path);
	free(ctl->state_path);
	free(ctl->tasks_path);
	free(ctl->pin_dir);
	pthread_mutex_destroy(&ctl->state);
	pthread_mutex_destroy(&ctl->writer);
	pthread_mutex_destroy(&ctl->staging);
	free(ctl);
}

void tn_ctl_set_wakeup_fd(struct tn_ctl *ctl, int fd)
{
	ctl->wakeup_fd = fd;
}

void tn_ctl_set_runtime(struct tn_ctl *ctl, const char *pin_dir, bool skb_mode)
{
	free(ctl->pin_dir);
	ctl->pin_dir = pin_dir ? strdup(pin_dir) : NULL;
	ctl->skb_mode = skb_mode;
}

void tn_ctl_set_node(struct tn_ctl *ctl, struct tn_node *node) { ctl->node = node; }
struct tn_node *tn_ctl_node(struct tn_ctl *ctl) { return ctl->node; }

int tn_ctl_set_state_path(struct tn_ctl *ctl, const char *path)
{
	char *p = path ? strdup(path) : NULL;

	if (path && !p)
		return -ENOMEM;
	free(ctl->state_path);
	ctl->state_path = p;
	free(ctl->tasks_path);
	ctl->tasks_path = NULL;
	if (p && asprintf(&ctl->tasks_path, "%s.tasks", p) < 0) {
		ctl->tasks_path = NULL;
		return -ENOMEM;
	}
	return 0;
}

const struct tn_config *tn_ctl_staged(const struct tn_ctl *ctl)
{
	ASSERT_STAGED_READABLE();
	return &ctl->staged;
}

const struct tn_config *tn_ctl_applied(const struct tn_ctl *ctl)
{
	ASSERT_STATE_HELD();
	return &ctl->applied;
}

/* Staging lock held: cfg (moved) becomes the staged configuration. */
static void install_staged(struct tn_ctl *ctl, struct tn_config *cfg)
{
	struct tn_config old;

	assert(ctl_held & HELD_STAGING);
	tn_ctl_lock(ctl);
	old = ctl->staged;
	ctl->staged = *cfg;
	ctl->gc_wanted = true;
	tn_ctl_unlock(ctl);
	memset(cfg, 0, sizeof(*cfg));
	tn_config_free(&old);
}

static void gc_now(struct tn_ctl *ctl)
{
	tn_ctl_lock(ctl);
	ctl_gc(ctl);
	tn_ctl_unlock(ctl);
}

/* Staging lock held: remember the file as it is now (just read or written). */
static void file_seen_record(struct tn_ctl *ctl)
{
	struct stat st;

	ctl->file_seen.known = ctl->config_path && stat(ctl->config_path, &st) == 0;
	if (!ctl->file_seen.known)
		return;
	ctl->file_seen.dev = st.st_dev;
	ctl->file_seen.ino = st.st_ino;
	ctl->file_seen.size = st.st_size;
	ctl->file_seen.mtime = st.st_mtim;
}

/* Staging lock held: was the file changed by someone else since? */
static bool file_edited_on_disk(const struct tn_ctl *ctl)
{
	const struct file_seen *f = &ctl->file_seen;
	struct stat st;

	if (!ctl->config_path || !f->known || stat(ctl->config_path, &st))
		return false;
	return st.st_dev != f->dev || st.st_ino != f->ino || st.st_size != f->size ||
	       st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec;
}

int tn_ctl_start(struct tn_ctl *ctl, struct tn_config *applied, struct tn_config *staged)
{
	struct tn_config served = {0}, copy = {0};
	size_t nfarms, nfrontends;
	char msg[1024];
	int errors, err;

	assert(!ctl_held);
	if (!staged) {
		err = tn_config_copy(&copy, applied);
		if (err)
			return err;
		staged = &copy;
	}
	tn_ctl_stage_lock(ctl);
	ctl_writer_lock(ctl);
	/* every server's MAC first (waiting a little), so the first tables are complete */
	file_seen_record(ctl); /* read by the caller just before */
	resolve_config(ctl, applied, 15, res_unresolved);
	if ((err = take_over(ctl, applied))) {
		ctl_writer_unlock(ctl);
		tn_ctl_stage_unlock(ctl);
		tn_config_free(&copy);
		return err;
	}
	tasks_restore(ctl);
	errors = apply_config(ctl, NULL, applied, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	tn_config_free(applied);
	install_staged(ctl, staged);
	gc_now(ctl);
	nfarms = ctl->applied.nfarms;
	nfrontends = ctl->applied.nfrontends;
	ctl_writer_unlock(ctl);
	tn_ctl_stage_unlock(ctl);
	if (errors) {
		tn_err("configuration applied with errors (what failed stays pending): %s", msg);
		return -EIO;
	}
	tn_info("configuration applied: %zu farms, %zu frontends", nfarms, nfrontends);
	return 0;
}

int tn_ctl_reload(struct tn_ctl *ctl, struct tn_config *cfg)
{
	struct tn_config served = {0};
	size_t nfarms, nfrontends;
	char msg[1024];
	int errors;

	assert((ctl_held & HELD_STAGING) && !(ctl_held & HELD_STATE));
	ctl_writer_lock(ctl);
	errors = apply_config(ctl, &ctl->applied, cfg, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	install_staged(ctl, cfg);
	file_seen_record(ctl); /* the caller read it under this staging lock */
	gc_now(ctl);
	nfarms = ctl->applied.nfarms;
	nfrontends = ctl->applied.nfrontends;
	ctl_writer_unlock(ctl);
	tn_ctl_note_reload(ctl, errors ? TN_RELOAD_PARTIAL : TN_RELOAD_APPLIED);
	if (errors) {
		tn_err("configuration reloaded with errors (what failed stays pending): %s", msg);
		return -EIO;
	}
	tn_info("configuration reloaded: %zu farms, %zu frontends", nfarms, nfrontends);
	return 0;
}

/*
 * Validate, write the file, then install: the file is written (fsync) under
 * the staging lock only, and the state lock is taken just to swap the
 * staged configuration, so readers never wait for the disk. The caller took
 * its snapshot under the same staging lock: nothing changed since.
 */
int tn_ctl_stage(struct tn_ctl *ctl, struct tn_config *candidate, struct tn_errors *errs)
{
	int err;

	assert((ctl_held & HELD_STAGING) && !(ctl_held & HELD_STATE));
	if (tn_config_validate(candidate, errs))
		return -EINVAL;
	/* a hand edit since the controller read the file is never overwritten */
	if (file_edited_on_disk(ctl)) {
		tn_errors_add(errs, "", "the configuration file %s was changed on disk since the controller read it: "
			      "this change is refused so that the edit is not lost; load the file (SIGHUP, "
			      "systemctl reload tenace) or undo the edit, then try again", ctl->config_path);
		return -ESTALE;
	}
	if (ctl->config_path && (err = call_config_save(candidate, ctl->config_path))) {
		tn_errors_add(errs, "", "cannot write the configuration file %s: %s", ctl->config_path,
			      strerror(-err));
		return -EIO;
	}
	install_staged(ctl, candidate);
	file_seen_record(ctl);
	return 0;
}

void tn_ctl_prime_staged(struct tn_ctl *ctl)
{
	ctl_writer_lock(ctl);
	resolve_config(ctl, NULL, 10, res_unresolved);
	ctl_writer_unlock(ctl);
}
