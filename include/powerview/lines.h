/* Line reader: bounded buffer, LF / CRLF / CR line ends, BOM removal, UTF-8 check. */
#ifndef POWERVIEW_LINES_H
#define POWERVIEW_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"

#define PV_LINE_MAX (1024 * 1024) /* longer lines are an error: memory stays bounded */

typedef struct pv_lines {
	int fd;
	char *buf;
	size_t cap, start, end;
	bool eof, at_start;
	bool unterminated; /* the line last returned ended the file with no line break */
	uint64_t lineno; /* 1-based number of the line last returned */
} pv_lines;

/* Reads from fd (not owned). */
int pv_lines_init(pv_lines *l, int fd);
void pv_lines_free(pv_lines *l);

/*
 * Returns 1 with *line / *len set (no line end, not NUL-terminated, valid
 * until the next call), 0 at end of file, or PV_EDATA / PV_EIO / PV_ENOMEM.
 */
int pv_lines_next(pv_lines *l, const char **line, size_t *len, pv_err *err);

/* True when the line is empty after removing spaces, tabs and CR. */
bool pv_line_blank(const char *s, size_t n);

/* Removes ASCII white space (space, TAB, CR, LF, VT, FF) at both ends. */
void pv_trim(const char **s, size_t *n);

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool pv_utf8_valid(const char *s, size_t n);

/* How many bytes at the start of s[0..n) are valid UTF-8. */
size_t pv_utf8_span(const char *s, size_t n);

#endif
