/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The unit tests' one way to start a controller on a configuration text. */
#ifndef TENACE_TEST_CTL_START_H
#define TENACE_TEST_CTL_START_H

#include <stdio.h>
#include <stdlib.h>
#include "config/config.h"
#include "control/controller.h"

/* A controller started on json with backend be; NULL (said) when json is refused or the start fails. */
static inline struct tn_ctl *ctl_start(const char *json, const struct tn_ctl_backend *be)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	struct tn_ctl *ctl;

	if (tn_config_parse_string(json, &c, &e)) {
		char *j = tn_errors_join(&e);

		fprintf(stderr, "fixture config rejected: %s\n", j ? j : "(out of memory)");
		free(j);
		tn_errors_free(&e);
		return NULL;
	}
	ctl = tn_ctl_new(be, NULL);
	if (ctl && tn_ctl_start(ctl, &c, NULL)) {
		tn_ctl_free(ctl);
		ctl = NULL;
	}
	tn_config_free(&c);
	return ctl;
}

#endif
