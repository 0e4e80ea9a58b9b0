/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The three locks and the thread-local mask that lets assert() check their
 * use (see internal.h). */
#include <pthread.h>
#include "control/internal.h"

_Thread_local unsigned ctl_held;

void tn_ctl_lock(struct tn_ctl *ctl)
{
	assert(!(ctl_held & HELD_STATE)); /* not recursive */
	pthread_mutex_lock(&ctl->state);
	ctl_held |= HELD_STATE;
}

void tn_ctl_unlock(struct tn_ctl *ctl)
{
	ASSERT_STATE_HELD();
	ctl_held &= ~HELD_STATE;
	pthread_mutex_unlock(&ctl->state);
}

void ctl_writer_lock(struct tn_ctl *ctl)
{
	assert(!(ctl_held & (HELD_STATE | HELD_WRITER))); /* order: staging, writer, state */
	pthread_mutex_lock(&ctl->writer);
	ctl_held |= HELD_WRITER;
}

void ctl_writer_unlock(struct tn_ctl *ctl)
{
	ASSERT_WRITER();
	ctl_held &= ~HELD_WRITER;
	pthread_mutex_unlock(&ctl->writer);
}

void tn_ctl_stage_lock(struct tn_ctl *ctl)
{
	assert(!ctl_held); /* the first lock of the order */
	pthread_mutex_lock(&ctl->staging);
	ctl_held |= HELD_STAGING;
}

void tn_ctl_stage_unlock(struct tn_ctl *ctl)
{
	assert(ctl_held & HELD_STAGING);
	ctl_held &= ~HELD_STAGING;
	pthread_mutex_unlock(&ctl->staging);
}
