/* Line protocol encoding. */
#ifndef POWERVIEW_LP_H
#define POWERVIEW_LP_H

#include <stddef.h>
#include <stdint.h>

#include "powerview/common.h"
#include "powerview/timeparse.h"

typedef enum pv_lp_kind {
	PV_LP_MEASUREMENT, /* escapes `,` and space */
	PV_LP_KEY,         /* tag keys, tag values, field keys: `,` `=` and space */
	PV_LP_TAG_SAFE     /* as PV_LP_KEY, each byte no tag can carry written as `_` */
} pv_lp_kind;

typedef struct pv_tag {
	const char *key;
	const char *value; /* NULL or "" leaves the tag out */
} pv_tag;

/*
 * The tag-safe rule: a tag value carries no control character and no
 * backslash (one before the end or before an escaped byte cannot be told
 * from an escape). pv_lp_tag_unsafe gives the first byte of s that breaks
 * it, or NULL.
 */
static inline bool
pv_lp_tag_byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7F && c != '\\';
}
const char *pv_lp_tag_unsafe(const char *s);

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

/* Length of ",<key>=<value>" for each tag whose value is neither NULL nor "". */
size_t pv_lp_tags_len(const pv_tag *tags, size_t ntags);
/* Writes them (pv_lp_tags_len bytes), the values as `kind`; returns the end. */
char *pv_lp_tags(char *dst, const pv_tag *tags, size_t ntags, pv_lp_kind kind);

/*
 * Writes s as the text of a string field, between its quotes: `"` and `\`
 * escaped, a line break as a space, at most max - 1 bytes (max >= 8), never
 * cut inside an escape or a UTF-8 character (dst needs 2 * strlen(s) + 1
 * or max bytes); returns the end, NUL-terminated.
 */
char *pv_lp_string(char *dst, const char *s, size_t max);

#define PV_LP_VALUE_MAX 32
/* Writes a float that parses back to v->v; returns the end. */
char *pv_lp_value(char *dst, const pv_value *v);

/* Writes " <seconds>\n" and returns the end (dst needs 24 bytes). */
char *pv_lp_time(char *dst, int64_t seconds);

#endif
