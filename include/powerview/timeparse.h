/* Logger timestamps and values: the row grammar of the data contract. */
#ifndef POWERVIEW_TIMEPARSE_H
#define POWERVIEW_TIMEPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parses `D/M/YY H:M:S` (trimmed, day first). On success stores the wall
 * clock time as seconds since 1970-01-01 00:00:00 of a zone-less calendar
 * and returns true; false for anything else, including impossible dates.
 */
bool pv_timestamp_parse(const char *s, size_t n, int64_t *wall);

/*
 * Parses an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`
 * (t and z in either case; at most 9 fraction digits), the whole of s, into
 * nanoseconds since the epoch (years 1678..2261): true, else false.
 */
bool pv_rfc3339_parse(const char *s, int64_t *ns);

/* A date `YYYY-MM-DD` (the whole of s) as the wall clock seconds of its midnight; false when not one. */
bool pv_date_parse(const char *s, int64_t *wall);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t pv_days_from_civil(int64_t y, unsigned m, unsigned d);

/* A parsed value and the text it came from. */
typedef struct pv_value {
	double v;
	const char *text;  /* trimmed cell */
	size_t len;
	bool plain;        /* text is -?digits(.digits)? : line protocol can take it as is */
} pv_value;

/*
 * Parses a cell by the contract's value grammar: true when valid and finite
 * (false too when a cell of 512 bytes or more finds no memory for its copy).
 */
bool pv_value_parse(const char *s, size_t n, pv_value *out);

#endif
