/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace trace`: decision events from the running data plane. A trace
 * claims one of the TN_TRACE_SLOTS sessions of the pinned trace_ctl map
 * (owner pid written with a compare-and-swap on the mmapped element; slots of
 * dead owners are taken back), writes its filter, hands the program a ring
 * buffer of its own through trace_rings and prints what arrives there.
 *
 * Functions return 0 or a negative errno and log one sentence on failure.
 */
#ifndef TENACE_TRACE_H
#define TENACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "tenace.h"

/* What the command line asked for. */
struct tn_trace_opts {
	struct tn_trace_session filter; /* flags and filter fields; owner and counters unset */
	uint64_t count;                 /* stop after this many events; 0: until interrupted */
	bool json;                      /* one JSON object per line */
	const char *pcap;               /* -w FILE, or NULL */
	const char *pin_dir;
};

/* The filter options (filter.c), each setting its TN_TF_* flag. */
int tn_trace_parse_vip(const char *s, struct tn_trace_session *f);     /* ADDR[:PORT][/tcp|/udp] */
int tn_trace_parse_client(const char *s, struct tn_trace_session *f);  /* CIDR or address */
int tn_trace_parse_server(const char *s, struct tn_trace_session *f);  /* FARM/SERVER ids */
int tn_trace_parse_reasons(const char *s, struct tn_trace_session *f); /* name[,name...] */
int tn_trace_parse_rate(const char *s, struct tn_trace_session *f);    /* N or N/s */
/* The whole command line (argv[0] = "trace"): 0, 1 for --help (printed), or -EINVAL (said). */
int tn_trace_parse_args(int argc, char **argv, struct tn_trace_opts *o);

/* Events as text and JSON (format.c). wall: the event's time, seconds since the epoch. */
const char *tn_trace_ct_name(uint8_t ct);    /* "hit", "new", ..., "-" */
const char *tn_trace_why_name(uint8_t why);  /* "tracked", "table", ..., "-" */
void tn_trace_format(const struct tn_trace_event *ev, double wall, char *buf, size_t len);
json_object *tn_trace_event_json(const struct tn_trace_event *ev, double wall);

/* The pcap file of -w (pcap.c): each event's packet as received, then as sent (when sent). */
struct tn_trace_pcap;
int tn_trace_pcap_open(struct tn_trace_pcap **out, const char *file);
void tn_trace_pcap_write(struct tn_trace_pcap *w, const struct tn_trace_event *ev, double wall);
void tn_trace_pcap_close(struct tn_trace_pcap *w);

/* One claimed session (session.c). */
struct tn_trace {
	int ctl_fd, rings_fd, ring_fd;
	struct tn_trace_ctl *ctl; /* the mmapped trace_ctl element */
	size_t map_len;
	int slot;                 /* -1: none claimed */
};

/* Open and map the pinned trace maps of pin_dir. */
int tn_trace_open(struct tn_trace *t, const char *pin_dir);
/* The same with the maps' fds (tn_trace_close closes them; the bench's unpinned maps). */
int tn_trace_open_fds(struct tn_trace *t, int ctl_fd, int rings_fd);
/* Take back the slots of owners that are gone: how many. */
int tn_trace_recover(struct tn_trace *t);
/* Claim a free slot for pid, write filter (remaining = count when non-zero),
 * give it a new ring buffer and activate it. -EBUSY when every slot is taken. */
int tn_trace_claim(struct tn_trace *t, const struct tn_trace_session *filter, uint64_t count, pid_t pid);
/* Deactivate and free the claimed slot (if any), unmap and close. */
void tn_trace_close(struct tn_trace *t);

/* `tenace trace ...` (argv[0] = "trace"): the exit status. */
int tn_trace_main(int argc, char **argv, bool json);

#endif /* TENACE_TRACE_H */
