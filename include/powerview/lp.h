/* Line protocol encoding. */
#ifndef POWERVIEW_LP_H
#define POWERVIEW_LP_H

#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/timeparse.h"

typedef enum pv_lp_kind {
	PV_LP_MEASUREMENT, /* escapes `,` and space */
	PV_LP_KEY          /* tag keys, tag values, field keys: `,` `=` and space */
} pv_lp_kind;

typedef struct pv_tag {
	const char *key;
	const char *value; /* NULL or "" leaves the tag out */
} pv_tag;

/* Escaped length of s[0..n). */
size_t pv_lp_escaped_len(const char *s, size_t n, pv_lp_kind kind);
/* Writes the escaped text (pv_lp_escaped_len bytes) and returns the end. */
char *pv_lp_escape(char *dst, const char *s, size_t n, pv_lp_kind kind);

/*
 * Builds "<measurement>,<tags> <field key>=" (tags must be sorted by key)
 * into a new string.
 */
int pv_lp_prefix(char **out, size_t *len, const char *measurement,
    const pv_tag *tags, size_t ntags, const char *field_key);

#define PV_LP_VALUE_MAX 32
/* Writes a float that parses back to v->v; returns the end. */
char *pv_lp_value(char *dst, const pv_value *v);

/* Writes " <seconds>\n" and returns the end (dst needs 24 bytes). */
char *pv_lp_time(char *dst, int64_t seconds);

#endif
