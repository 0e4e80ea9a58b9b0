/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Refresh tasks: queued by the API (state lock), run by the writer one at a
 * time on a private copy (the applied configuration with one zone's staged
 * objects), so a refresh never holds the state lock while it writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/log.h"

bool zone_known(const struct tn_ctl *ctl, const char *zone)
{
	const struct tn_config *cs[2] = { &ctl->staged, &ctl->applied };

	for (int k = 0; k < 2; k++) {
		const struct tn_config *c = cs[k];

		if (!strcmp(node_zone(c), zone))
			return true;
		for (size_t i = 0; i < c->nfarms; i++)
			if (!strcmp(farm_zone(c, &c->farms[i]), zone))
				return true;
		for (size_t i = 0; i < c->nfrontends; i++)
			if (!strcmp(frontend_zone(c, &c->frontends[i]), zone))
				return true;
	}
	return false;
}

static struct task *task_get(struct tn_ctl *ctl, uint32_t id)
{
	struct task *t;

	if (!id)
		return NULL;
	t = &ctl->tasks[id % MAX_TASKS];
	return t->id == id ? t : NULL;
}

int tn_ctl_refresh(struct tn_ctl *ctl, const char *zone, uint32_t *task_id)
{
	return tn_ctl_refresh_max_moved(ctl, zone, -1, task_id);
}

int tn_ctl_refresh_max_moved(struct tn_ctl *ctl, const char *zone, double max_moved, uint32_t *task_id)
{
	struct task *t;

	ASSERT_STATE_HELD();
	if (zone && !strcmp(zone, "all"))
		zone = NULL;
	if (zone && !zone_known(ctl, zone))
		return -ENOENT;
	t = &ctl->tasks[ctl->next_task_id % MAX_TASKS];
	if (t->id && (t->status == TASK_TODO || t->status == TASK_DOING))
		return -EBUSY; /* the ring is full of queued refreshes: never drop one */
	free(t->zone);
	free(t->message);
	memset(t, 0, sizeof(*t));
	t->id = ctl->next_task_id++;
	t->status = TASK_TODO;
	t->zone = zone ? strdup(zone) : NULL;
	t->created = tn_now();
	t->max_moved = max_moved;
	*task_id = t->id;
	call_wakeup(ctl);
	return 0;
}

/* Objects of one zone are the staged ones, the others the applied ones. */
static int merge_farms(const struct tn_config *ap, const struct tn_config *st, const char *zone,
		       struct tn_config *out)
{
	size_t i;
	int err = 0;

	for (i = 0; i < ap->nfarms && !err; i++) {
		const struct tn_farm_cfg *a = &ap->farms[i];
		const struct tn_farm_cfg *s = tn_config_farm(st, a->type, a->farm_id);
		bool take = !strcmp(farm_zone(ap, a), zone) || (s && !strcmp(farm_zone(st, s), zone));

		if (!take)
			err = append_farm(out, a);
		else if (s)
			err = append_farm(out, s);
	}
	for (i = 0; i < st->nfarms && !err; i++) {
		const struct tn_farm_cfg *s = &st->farms[i];

		if (!tn_config_farm(ap, s->type, s->farm_id) && !strcmp(farm_zone(st, s), zone))
			err = append_farm(out, s);
	}
	return err;
}

static int merge_frontends(const struct tn_config *ap, const struct tn_config *st, const char *zone,
			   struct tn_config *out)
{
	size_t i;
	int err = 0;

	for (i = 0; i < ap->nfrontends && !err; i++) {
		const struct tn_frontend_cfg *a = &ap->frontends[i];
		const struct tn_frontend_cfg *s = tn_config_frontend(st, a->type, a->frontend_id);
		bool take = !strcmp(frontend_zone(ap, a), zone) || (s && !strcmp(frontend_zone(st, s), zone));

		if (!take)
			err = append_frontend(out, a);
		else if (s)
			err = append_frontend(out, s);
	}
	for (i = 0; i < st->nfrontends && !err; i++) {
		const struct tn_frontend_cfg *s = &st->frontends[i];

		if (!tn_config_frontend(ap, s->type, s->frontend_id) && !strcmp(frontend_zone(st, s), zone))
			err = append_frontend(out, s);
	}
	return err;
}

/* The applied configuration with the staged objects of one zone (NULL: all). */
int merge_zone(const struct tn_config *ap, const struct tn_config *st, const char *zone, struct tn_config *out)
{
	size_t i;
	int err;

	if (!zone)
		return tn_config_copy(out, st);
	err = tn_config_copy(out, ap);
	if (err)
		return err;
	for (i = 0; i < out->nfarms; i++)
		tn_farm_free(&out->farms[i]);
	for (i = 0; i < out->nfrontends; i++)
		tn_frontend_free(&out->frontends[i]);
	out->nfarms = out->nfrontends = 0;
	err = merge_farms(ap, st, zone, out);
	if (!err)
		err = merge_frontends(ap, st, zone, out);
	if (err)
		tn_config_free(out);
	return err;
}

/* The outcome of a task, recorded under the state lock. */
struct outcome {
	bool ok;
	char *message;
};

/* "refreshing zone Z alone would leave an invalid configuration: ..." */
static bool refresh_valid(const struct tn_config *next, const char *zone, struct outcome *out)
{
	struct tn_errors errs = {0};
	char *j, buf[1200];

	if (!tn_config_validate(next, &errs))
		return true;
	j = tn_errors_join(&errs);
	snprintf(buf, sizeof(buf), "refreshing zone %s alone would leave an invalid configuration: %s",
		 zone ? zone : "all", j ? j : "?");
	free(j);
	tn_errors_free(&errs);
	out->message = strdup(buf);
	return false;
}

/* Writer, no lock: a limit on the tracked clients moved holds for next
 * (checked on the configuration about to be applied, so a change staged
 * after the API's check is held to it too). */
static bool refresh_within(struct tn_ctl *ctl, const struct tn_config *next, double max_moved, struct outcome *out)
{
	char msg[600], buf[700];
	struct preview *p;
	bool over;
	int err = 0;

	if (max_moved < 0)
		return true;
	if (!(p = preview_run(ctl, next, &err))) {
		snprintf(buf, sizeof(buf), "refused: cannot count the tracked clients it would move: %s; nothing applied",
			 strerror(-err));
		out->message = strdup(buf);
		return false;
	}
	over = preview_over(p, max_moved, msg, sizeof(msg));
	preview_free(p);
	if (!over)
		return true;
	snprintf(buf, sizeof(buf), "refused: %s; nothing applied", msg);
	out->message = strdup(buf);
	return false;
}

/* Writer, no lock: apply next (a private copy); the task's zone and id for the logs. */
static void run_refresh(struct tn_ctl *ctl, const struct task *t, struct tn_config *next, struct outcome *out)
{
	struct tn_config served = {0};
	const char *zone = t->zone;
	uint32_t id = t->id;
	char msg[1024], buf[1100];
	int errors;

	if (!refresh_valid(next, zone, out) || !refresh_within(ctl, next, t->max_moved, out)) {
		tn_err("task %u: %s", id, out->message ? out->message : "invalid configuration");
		return;
	}
	errors = apply_config(ctl, &ctl->applied, next, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	tn_ctl_lock(ctl);
	ctl_gc(ctl);
	tn_ctl_unlock(ctl);
	if (errors) {
		snprintf(buf, sizeof(buf), "%s (what failed stays pending: refresh again)", msg);
		out->message = strdup(buf);
		tn_err("task %u: refresh of zone %s: %s", id, zone ? zone : "all", buf);
		return;
	}
	out->ok = true;
	out->message = strdup("configuration applied");
	tn_info("task %u: refresh of zone %s done", id, zone ? zone : "all");
}

/* State lock held: the oldest queued task below `end`, marked doing, and
 * its configuration (merged now, so later staged changes wait). */
static struct task *task_start(struct tn_ctl *ctl, uint32_t end, struct tn_config *next, int *err)
{
	for (uint32_t id = end > MAX_TASKS ? end - MAX_TASKS : 1; id < end; id++) {
		struct task *t = task_get(ctl, id);

		if (!t || t->status != TASK_TODO)
			continue;
		t->status = TASK_DOING;
		*err = merge_zone(&ctl->applied, &ctl->staged, t->zone, next);
		return t;
	}
	return NULL;
}

int tn_ctl_run_tasks(struct tn_ctl *ctl)
{
	uint32_t end;
	int ran = 0;

	ctl_writer_lock(ctl);
	tn_ctl_lock(ctl);
	end = ctl->next_task_id; /* the tasks queued before now */
	tn_ctl_unlock(ctl);
	for (;;) {
		struct tn_config next = {0};
		struct outcome out = { false, NULL };
		struct task *t;
		int err = 0;

		tn_ctl_lock(ctl);
		t = task_start(ctl, end, &next, &err);
		tn_ctl_unlock(ctl);
		if (!t)
			break;
		/* on disk before the data plane changes: a refresh a stop cuts short
		 * is found "doing" by the next controller, which says so */
		tasks_save(ctl);
		/* t stays ours while doing: the ring never reuses a queued or running task */
		if (err)
			out.message = strdup(strerror(-err));
		else
			run_refresh(ctl, t, &next, &out);
		tn_config_free(&next);
		tn_ctl_lock(ctl);
		t->status = out.ok ? TASK_DONE : TASK_ERROR;
		t->message = out.message;
		t->done = tn_now();
		tn_ctl_unlock(ctl);
		ran++;
	}
	if (ran)
		tasks_save(ctl);
	ctl_writer_unlock(ctl);
	return ran;
}

/* ---- the tasks file ---------------------------------------------------------------
 * [{"id", "status", "zone", "created", "done", "message"}] with times in
 * seconds since the epoch: written by the writer before each refresh runs
 * and after, read back by the next controller. */

static const char *const status_names[] = { "todo", "doing", "done", "error" };

void tasks_save(struct tn_ctl *ctl)
{
	json_object *a;
	char *text;
	int err;

	ASSERT_WRITER();
	if (!ctl->tasks_path)
		return;
	a = json_object_new_array();
	tn_ctl_lock(ctl);
	for (uint32_t id = ctl->next_task_id > MAX_TASKS ? ctl->next_task_id - MAX_TASKS : 1;
	     id < ctl->next_task_id; id++) {
		struct task *t = task_get(ctl, id);
		json_object *o;

		if (!t)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(t->id));
		json_object_object_add(o, "status", json_object_new_string(status_names[t->status]));
		json_object_object_add(o, "zone", t->zone ? json_object_new_string(t->zone) : NULL);
		json_object_object_add(o, "created", json_object_new_double(t->created));
		json_object_object_add(o, "done", json_object_new_double(t->done));
		json_object_object_add(o, "message", t->message ? json_object_new_string(t->message) : NULL);
		json_object_array_add(a, o);
	}
	tn_ctl_unlock(ctl);
	text = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	if (!text) {
		tn_err("cannot save the refresh tasks to %s: out of memory", ctl->tasks_path);
		return;
	}
	if ((err = call_file_save(ctl->tasks_path, text)))
		tn_err("cannot save the refresh tasks to %s: %s (a restart would forget them)", ctl->tasks_path,
		       strerror(-err));
	free(text);
}

static int status_of(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, status_names[i]))
			return i;
	return -1;
}

void tasks_restore(struct tn_ctl *ctl)
{
	char *text = NULL, err[200];
	size_t len, interrupted = 0;
	json_object *a;
	int e;

	ASSERT_WRITER();
	if (!ctl->tasks_path || (e = tn_file_read(ctl->tasks_path, 16 << 20, &text, &len)) == -ENOENT)
		return;
	if (e) {
		tn_err("cannot read the refresh tasks in %s: %s (earlier tasks are forgotten)", ctl->tasks_path,
		       strerror(-e));
		return;
	}
	a = tn_json_parse(text, len, err, sizeof(err));
	free(text);
	if (!a || !json_object_is_type(a, json_type_array)) {
		tn_err("the refresh tasks in %s are unreadable (%s): earlier tasks are forgotten", ctl->tasks_path,
		       a ? "not an array" : err);
		json_object_put(a);
		return;
	}
	tn_ctl_lock(ctl);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *o = json_object_array_get_idx(a, i), *v;
		int64_t id = json_object_object_get_ex(o, "id", &v) ? json_object_get_int64(v) : 0;
		int st = json_object_object_get_ex(o, "status", &v) ? status_of(json_object_get_string(v)) : -1;
		struct task *t;

		if (id <= 0 || id >= UINT32_MAX || st < 0)
			continue;
		t = &ctl->tasks[(uint32_t)id % MAX_TASKS];
		free(t->zone);
		free(t->message);
		memset(t, 0, sizeof(*t));
		t->id = (uint32_t)id;
		t->status = st;
		if (json_object_object_get_ex(o, "zone", &v) && json_object_is_type(v, json_type_string))
			t->zone = strdup(json_object_get_string(v));
		t->created = json_object_object_get_ex(o, "created", &v) ? json_object_get_double(v) : 0;
		t->done = json_object_object_get_ex(o, "done", &v) ? json_object_get_double(v) : 0;
		if (st == TASK_TODO || st == TASK_DOING) {
			/* the served configuration is the state file's, applied whole at
			 * this start: whatever this refresh had written is undone */
			t->message = strdup(st == TASK_DOING ?
				"interrupted: the controller stopped while this refresh ran; nothing of it is served "
				"(the data plane was given the applied configuration again at restart); refresh again" :
				"interrupted: the controller stopped before this refresh ran; nothing of it is served; "
				"refresh again");
			t->status = TASK_ERROR;
			t->done = tn_now();
			interrupted++;
		} else if (json_object_object_get_ex(o, "message", &v) && json_object_is_type(v, json_type_string)) {
			t->message = strdup(json_object_get_string(v));
		}
		if ((uint32_t)id >= ctl->next_task_id)
			ctl->next_task_id = (uint32_t)id + 1;
	}
	tn_ctl_unlock(ctl);
	json_object_put(a);
	if (interrupted)
		tn_warn("%zu refresh task%s interrupted by the last stop marked error (tenace task ID shows why)",
			interrupted, interrupted == 1 ? "" : "s");
	tasks_save(ctl);
}

json_object *tn_ctl_task_json(struct tn_ctl *ctl, uint32_t id)
{
	struct task *t;
	json_object *o;

	ASSERT_STATE_HELD();
	if (!(t = task_get(ctl, id)))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "action", json_object_new_string("refresh"));
	json_object_object_add(o, "status", json_object_new_string(status_names[t->status]));
	json_object_object_add(o, "zone", t->zone ? json_object_new_string(t->zone) : NULL);
	json_object_object_add(o, "creationDate", json_time(t->created));
	json_object_object_add(o, "doneDate", json_time(t->done));
	json_object_object_add(o, "message", t->message ? json_object_new_string(t->message) : NULL);
	return o;
}

json_object *tn_ctl_tasks_json(struct tn_ctl *ctl, size_t max)
{
	json_object *a = json_object_new_array();
	size_t n = 0;

	ASSERT_STATE_HELD();
	/* newest first */
	for (uint32_t id = ctl->next_task_id - 1; id >= 1 && (!max || n < max); id--) {
		json_object *o = tn_ctl_task_json(ctl, id);

		if (!o)
			break;
		json_object_array_add(a, o);
		n++;
	}
	return a;
}
