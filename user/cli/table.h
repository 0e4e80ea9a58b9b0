/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Human output of the CLI: aligned tables, state colours on a terminal,
 * and terminal-safe text. Every string that comes from the API (names,
 * zones, reasons, messages) is printed through here, escaped: a
 * displayName holding "\u001b[2J" must not clear the operator's screen.
 */
#ifndef TENACE_CLI_TABLE_H
#define TENACE_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#define TN_TABLE_MAX_COLS 12

struct tn_table {
	int ncols;
	char **cells;            /* rows * ncols, escaped */
	size_t nrows;
	bool state_col[TN_TABLE_MAX_COLS]; /* coloured by value: up green, down red */
};

void tn_table_init(struct tn_table *t, int ncols);
/* Colour this column's cells by their state ("up", "down", ...) on a terminal. */
void tn_table_colour_states(struct tn_table *t, int col);
/* One row of ncols strings (NULL shows "-"), escaped. */
void tn_table_row(struct tn_table *t, ...);
/* Print to stdout, columns aligned, and empty the table. */
void tn_table_print(struct tn_table *t);

/*
 * s made safe for a terminal: C0 controls, DEL, C1 controls and bytes that
 * are not valid UTF-8 become \xNN (tab, newline, carriage return: \t \n \r);
 * valid UTF-8 text is kept. tn_term_escape returns a malloc'd copy (NULL out
 * of memory); tn_term_safe one of 16 buffers reused in turn, for printf
 * arguments, freed by tn_term_safe_free.
 */
char *tn_term_escape(const char *s);
const char *tn_term_safe(const char *s);
void tn_term_safe_free(void);

#endif /* TENACE_CLI_TABLE_H */
