#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/lp.h"

static bool
needs_escape(char c, pv_lp_kind kind)
{
	return c == ',' || c == ' ' || (c == '=' && kind != PV_LP_MEASUREMENT);
}

size_t
pv_lp_escaped_len(const char *s, size_t n, pv_lp_kind kind)
{
	size_t len = n;

	for (size_t i = 0; i < n; i++)
		len += needs_escape(s[i], kind);
	return len;
}

char *
pv_lp_escape(char *dst, const char *s, size_t n, pv_lp_kind kind)
{
	for (size_t i = 0; i < n; i++) {
		if (needs_escape(s[i], kind))
			*dst++ = '\\';
		*dst++ = kind == PV_LP_TAG_SAFE && !pv_lp_tag_byte_ok((unsigned char)s[i]) ? '_' : s[i];
	}
	return dst;
}

const char *
pv_lp_tag_unsafe(const char *s)
{
	for (; *s; s++)
		if (!pv_lp_tag_byte_ok((unsigned char)*s))
			return s;
	return NULL;
}

static bool
tag_present(const pv_tag *t)
{
	return t->value != NULL && t->value[0] != '\0';
}

size_t
pv_lp_tags_len(const pv_tag *tags, size_t ntags)
{
	size_t n = 0;

	for (size_t i = 0; i < ntags; i++)
		if (tag_present(&tags[i]))
			n += 2 + pv_lp_escaped_len(tags[i].key, strlen(tags[i].key), PV_LP_KEY) +
			    pv_lp_escaped_len(tags[i].value, strlen(tags[i].value), PV_LP_KEY);
	return n;
}

char *
pv_lp_tags(char *p, const pv_tag *tags, size_t ntags, pv_lp_kind kind)
{
	for (size_t i = 0; i < ntags; i++) {
		if (!tag_present(&tags[i]))
			continue;
		*p++ = ',';
		p = pv_lp_escape(p, tags[i].key, strlen(tags[i].key), PV_LP_KEY);
		*p++ = '=';
		p = pv_lp_escape(p, tags[i].value, strlen(tags[i].value), kind);
	}
	return p;
}

char *
pv_lp_string(char *dst, const char *s, size_t max)
{
	char *p = dst;

	for (; *s; s++) {
		if ((size_t)(p - dst) >= max - 4 && ((unsigned char)*s & 0xC0) != 0x80)
			break;
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s == '\n' ? ' ' : *s;
	}
	*p = '\0';
	return p;
}

int
pv_lp_prefix(char **out, size_t *len, const char *measurement,
    const pv_tag *tags, size_t ntags, const char *field_key)
{
	size_t n = pv_lp_escaped_len(measurement, strlen(measurement), PV_LP_MEASUREMENT) + 2;
	char *buf, *p;

	n += pv_lp_tags_len(tags, ntags);
	n += pv_lp_escaped_len(field_key, strlen(field_key), PV_LP_KEY);
	if ((buf = malloc(n + 1)) == NULL)
		return PV_ENOMEM;
	p = pv_lp_escape(buf, measurement, strlen(measurement), PV_LP_MEASUREMENT);
	p = pv_lp_tags(p, tags, ntags, PV_LP_KEY);
	*p++ = ' ';
	p = pv_lp_escape(p, field_key, strlen(field_key), PV_LP_KEY);
	*p++ = '=';
	*p = '\0';
	*out = buf;
	*len = (size_t)(p - buf);
	return PV_OK;
}

char *
pv_lp_value(char *dst, const pv_value *v)
{
	if (v->plain) {
		/* -?digits(.digits)?: the server parses the logger's own text to the same double */
		memcpy(dst, v->text, v->len);
		return dst + v->len;
	}
	return dst + pv_fmt_double(dst, PV_LP_VALUE_MAX, v->v);
}

char *
pv_lp_time(char *dst, int64_t seconds)
{
	char tmp[24];
	int n = 0;
	uint64_t u = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	*dst++ = ' ';
	if (seconds < 0)
		*dst++ = '-';
	while (n)
		*dst++ = tmp[--n];
	*dst++ = '\n';
	return dst;
}
