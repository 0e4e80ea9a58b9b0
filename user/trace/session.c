/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace sessions in the pinned maps: trace_ctl mapped into this process (its
 * owner fields are claimed and its active mask changed with atomics, as the
 * program and other traces use it at the same time) and trace_rings, where
 * each session puts the ring buffer it reads.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "lib/log.h"
#include "trace/trace.h"

static int open_pinned(const char *pin_dir, const char *name, enum bpf_map_type type)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		tn_err("cannot open %s: %s (is the data plane loaded with this pin directory, by a Tenace "
		       "with trace support?)", path, strerror(errno));
		return err;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != type) {
		tn_err("%s is not Tenace's %s map", path, name);
		close(fd);
		return -EPROTO;
	}
	return fd;
}

int tn_trace_open_fds(struct tn_trace *t, int ctl_fd, int rings_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	memset(t, 0, sizeof(*t));
	t->ctl_fd = ctl_fd;
	t->rings_fd = rings_fd;
	t->ring_fd = -1;
	t->slot = -1;
	t->map_len = (sizeof(struct tn_trace_ctl) + page - 1) / page * page;
	m = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->ctl_fd, 0);
	if (m == MAP_FAILED) {
		int err = -errno;

		tn_err("cannot map the trace_ctl map: %s", strerror(errno));
		tn_trace_close(t);
		return err;
	}
	t->ctl = m;
	return 0;
}

int tn_trace_open(struct tn_trace *t, const char *pin_dir)
{
	int ctl_fd, rings_fd;

	memset(t, 0, sizeof(*t));
	t->ctl_fd = t->rings_fd = t->ring_fd = t->slot = -1;
	if ((ctl_fd = open_pinned(pin_dir, "trace_ctl", BPF_MAP_TYPE_ARRAY)) < 0)
		return ctl_fd;
	if ((rings_fd = open_pinned(pin_dir, "trace_rings", BPF_MAP_TYPE_ARRAY_OF_MAPS)) < 0) {
		close(ctl_fd);
		return rings_fd;
	}
	return tn_trace_open_fds(t, ctl_fd, rings_fd);
}

/* Whether pid is a running tenace process (a reused pid of another program is not). */
static bool owner_alive(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (kill(pid, 0) && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true; /* another pid namespace's /proc: assume it lives */
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "tenace", 6);
}

/* Stop the program writing to slot i and forget its filter; owner stays. */
static void deactivate(struct tn_trace *t, int i)
{
	__u32 key = (__u32)i;

	__atomic_fetch_and(&t->ctl->active, ~(1u << i), __ATOMIC_SEQ_CST);
	if (bpf_map_delete_elem(t->rings_fd, &key) && errno != ENOENT)
		tn_warn("trace: cannot remove the ring buffer of session %d: %s", i, strerror(errno));
}

int tn_trace_recover(struct tn_trace *t)
{
	int n = 0;

	for (int i = 0; i < TN_TRACE_SLOTS; i++) {
		struct tn_trace_session *s = &t->ctl->s[i];
		__u32 owner = __atomic_load_n(&s->owner_pid, __ATOMIC_SEQ_CST);

		if (!owner || owner_alive((pid_t)owner))
			continue;
		/* taken first, so that only one recovering process touches it */
		if (!__atomic_compare_exchange_n(&s->owner_pid, &owner, (__u32)getpid(), false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue;
		deactivate(t, i);
		__atomic_store_n(&s->owner_pid, 0, __ATOMIC_SEQ_CST);
		tn_info("trace: took back session %d of process %u, which is gone", i, owner);
		n++;
	}
	return n;
}

static int make_ring(struct tn_trace *t)
{
	__u32 key = (__u32)t->slot;

	t->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tn_trace_ring", 0, 0, TN_TRACE_RING_SIZE, NULL);
	if (t->ring_fd < 0) {
		int err = -errno;

		tn_err("trace: cannot create a ring buffer of %u bytes: %s", TN_TRACE_RING_SIZE, strerror(errno));
		return err;
	}
	if (bpf_map_update_elem(t->rings_fd, &key, &t->ring_fd, BPF_ANY)) {
		int err = -errno;

		tn_err("trace: cannot hand the ring buffer to the data plane (trace_rings): %s", strerror(errno));
		return err;
	}
	return 0;
}

int tn_trace_claim(struct tn_trace *t, const struct tn_trace_session *filter, uint64_t count, pid_t pid)
{
	struct tn_trace_session *s = NULL;
	int err;

	tn_trace_recover(t);
	for (int i = 0; i < TN_TRACE_SLOTS && !s; i++) {
		__u32 zero = 0;

		if (__atomic_compare_exchange_n(&t->ctl->s[i].owner_pid, &zero, (__u32)pid, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			t->slot = i;
			s = &t->ctl->s[i];
		}
	}
	if (!s) {
		tn_err("trace: all %d trace sessions are taken (by running `tenace trace` processes)", TN_TRACE_SLOTS);
		return -EBUSY;
	}
	/* the slot is inactive: the program reads none of this until the bit is set */
	memcpy((char *)s + sizeof(s->owner_pid), (const char *)filter + sizeof(s->owner_pid),
	       sizeof(*s) - sizeof(s->owner_pid));
	s->flags &= ~TN_TF_COUNT;
	if (count) {
		s->remaining = (__s64)count;
		s->flags |= TN_TF_COUNT;
	}
	s->tat_ns = s->emitted = s->lost = s->limited = 0;
	if ((err = make_ring(t)))
		return err;
	__atomic_fetch_or(&t->ctl->active, 1u << t->slot, __ATOMIC_SEQ_CST);
	return 0;
}

void tn_trace_close(struct tn_trace *t)
{
	if (t->ctl && t->slot >= 0) {
		deactivate(t, t->slot);
		__atomic_store_n(&t->ctl->s[t->slot].owner_pid, 0, __ATOMIC_SEQ_CST);
		t->slot = -1;
	}
	if (t->ctl)
		munmap(t->ctl, t->map_len);
	t->ctl = NULL;
	if (t->ring_fd >= 0)
		close(t->ring_fd);
	if (t->rings_fd >= 0)
		close(t->rings_fd);
	if (t->ctl_fd >= 0)
		close(t->ctl_fd);
	t->ring_fd = t->rings_fd = t->ctl_fd = -1;
}
