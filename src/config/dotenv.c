#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/dotenv.h"

#define DOTENV_MAX (1024 * 1024)

typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;

static int
sb_putn(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (p == NULL)
			return -1;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int
sb_putc(sbuf *b, char c)
{
	return sb_putn(b, &c, 1);
}

/* ${NAME} or ${NAME:-default}: the environment at the time of reading. */
static int
expand(sbuf *out, const char **pp, const char *end)
{
	const char *p = *pp + 2, *close = memchr(p, '}', (size_t)(end - p));
	char name[256];

	if (close == NULL || (size_t)(close - p) >= sizeof(name))
		return sb_putn(out, *pp, 2) < 0 ? -1 : (*pp += 2, 0);
	size_t n = (size_t)(close - p);
	memcpy(name, p, n);
	name[n] = '\0';
	char *def = strstr(name, ":-");
	if (def != NULL) {
		*def = '\0';
		def += 2;
	}
	const char *v = getenv(name);
	if ((v == NULL || v[0] == '\0') && def != NULL)
		v = def;
	*pp = close + 1;
	return v ? sb_putn(out, v, strlen(v)) : 0;
}

static bool
is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* Parses one assignment at *pp; 1 when one was found, 0 for a blank or comment line. */
static int
parse_one(const char **pp, const char *end, sbuf *key, sbuf *val, const char **why)
{
	const char *p = *pp;

	key->len = val->len = 0;
	if (key->s)
		key->s[0] = '\0';
	if (val->s)
		val->s[0] = '\0';
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '\n' || *p == '#' || *p == '\r') {
		while (p < end && *p != '\n')
			p++;
		*pp = p < end ? p + 1 : p;
		return 0;
	}
	if (end - p > 7 && strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
		p += 6;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	char kq = (*p == '\'' || *p == '"') ? *p++ : 0;
	while (p < end && is_key_char(*p))
		if (sb_putc(key, *p++) < 0)
			return -1;
	if (kq && (p == end || *p++ != kq))
		return *why = "unterminated quoted name", -2;
	if (key->len == 0)
		return *why = "expected NAME=VALUE", -2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '=')
		return *why = "expected '=' after the name", -2;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (val->s == NULL && sb_putn(val, "", 0) < 0)
		return -1;

	if (p < end && (*p == '\'' || *p == '"')) {
		char q = *p++;
		for (;;) {
			if (p == end)
				return *why = "unterminated quoted value", -2;
			if (*p == q) {
				p++;
				break;
			}
			if (*p == '\\' && p + 1 < end) {
				char c = p[1], o = 0;
				if (q == '\'' && (c == '\'' || c == '\\'))
					o = c;
				else if (q == '"') {
					switch (c) {
					case 'n': o = '\n'; break;
					case 't': o = '\t'; break;
					case 'r': o = '\r'; break;
					case '"': case '\\': case '\'': case '$': o = c; break;
					}
				}
				if (o) {
					if (sb_putc(val, o) < 0)
						return -1;
					p += 2;
					continue;
				}
			}
			if (q == '"' && *p == '$' && p + 1 < end && p[1] == '{') {
				if (expand(val, &p, end) < 0)
					return -1;
				continue;
			}
			if (sb_putc(val, *p++) < 0)
				return -1;
		}
		/* only blanks or a comment may follow */
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p < end && *p != '\n' && *p != '#')
			return *why = "unexpected text after the quoted value", -2;
	} else {
		const char *start = p;
		while (p < end && *p != '\n') {
			if (*p == '#' && p > start && (p[-1] == ' ' || p[-1] == '\t'))
				break;
			if (*p == '$' && p + 1 < end && p[1] == '{') {
				if (expand(val, &p, end) < 0)
					return -1;
				continue;
			}
			if (sb_putc(val, *p++) < 0)
				return -1;
		}
		while (val->len > 0 && isspace((unsigned char)val->s[val->len - 1]))
			val->s[--val->len] = '\0';
	}
	while (p < end && *p != '\n')
		p++;
	*pp = p < end ? p + 1 : p;
	return 1;
}

int
pv_dotenv_load(const char *path, pv_err *err)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	sbuf key = { 0 }, val = { 0 };
	int rc = PV_OK;

	if (f == NULL)
		return pv_fail(err, errno == ENOENT ? PV_ENOENT : PV_ECONFIG, "cannot read %s: %s", path,
		    strerror(errno));
	text = malloc(DOTENV_MAX + 1);
	if (text == NULL) {
		fclose(f);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	n = fread(text, 1, DOTENV_MAX + 1, f);
	fclose(f);
	if (n > DOTENV_MAX) {
		free(text);
		return pv_fail(err, PV_ECONFIG, "%s is larger than %d bytes", path, DOTENV_MAX);
	}
	const char *p = text, *end = text + n;
	unsigned line = 1;
	while (p < end) {
		const char *start = p, *why = NULL;
		int got = parse_one(&p, end, &key, &val, &why);
		if (got == -1) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		if (got == -2) {
			rc = pv_fail(err, PV_ECONFIG, "%s:%u: %s", path, line, why);
			break;
		}
		if (got == 1 && getenv(key.s) == NULL && setenv(key.s, val.s, 0) < 0) {
			rc = pv_fail(err, PV_ECONFIG, "%s:%u: cannot set %s", path, line, key.s);
			break;
		}
		for (const char *q = start; q < p; q++)
			line += *q == '\n';
	}
	free(key.s);
	free(val.s);
	free(text);
	return rc;
}
