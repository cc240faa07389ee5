#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/dotenv.h"

#define DOTENV_MAX (1024 * 1024)
/*
 * ${NAME} expansion makes a value longer than its line: doubling lines
 * (A1=${A}${A}, A2=${A1}${A1}, ...) reach gigabytes from a few hundred
 * bytes. One value is held to half of what Linux lets one environment string
 * be (MAX_ARG_STRLEN, 128 KiB: past it, every exec of a child fails), all the
 * values of a file together to half of the usual room for arguments and
 * environment (ARG_MAX, 2 MiB).
 */
#define DOTENV_VALUE_MAX (64 * 1024)
#define DOTENV_TOTAL_MAX (1024 * 1024)

/*
 * parse_one() and its helpers fail with PV_ENOMEM or one of these (apart
 * from the pv_rc codes: the loader turns each into its message).
 */
enum { MALFORMED = -100, TOO_LONG = -101 };

typedef struct sbuf {
	char *s;
	size_t len, cap;
	size_t max;  /* 0: no bound */
} sbuf;

static int
sb_putn(sbuf *b, const char *s, size_t n)
{
	if (b->max != 0 && n > b->max - b->len)
		return TOO_LONG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (p == NULL)
			return PV_ENOMEM;
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

	if (close == NULL || (size_t)(close - p) >= sizeof(name)) {
		int rc = sb_putn(out, *pp, 2);
		if (rc == 0)
			*pp += 2;
		return rc;
	}
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

/* A quoted value at *pp (escapes and ${} as the quote allows), up to the end of its line's text. */
static int
parse_quoted(sbuf *val, const char **pp, const char *end, const char **why)
{
	const char *p = *pp;
	char q = *p++;
	int rc;

	for (;;) {
		if (p == end)
			return *why = "unterminated quoted value", MALFORMED;
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
				if ((rc = sb_putc(val, o)) < 0)
					return rc;
				p += 2;
				continue;
			}
		}
		if (q == '"' && *p == '$' && p + 1 < end && p[1] == '{') {
			if ((rc = expand(val, &p, end)) < 0)
				return rc;
			continue;
		}
		if ((rc = sb_putc(val, *p++)) < 0)
			return rc;
	}
	/* only blanks or a comment may follow */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p < end && *p != '\n' && *p != '#')
		return *why = "unexpected text after the quoted value", MALFORMED;
	*pp = p;
	return 0;
}

/* An unquoted value at *pp: up to a comment or the line's end, ${} expanded, trailing blanks dropped. */
static int
parse_bare(sbuf *val, const char **pp, const char *end)
{
	const char *p = *pp, *start = p;
	int rc;

	while (p < end && *p != '\n') {
		if (*p == '#' && p > start && (p[-1] == ' ' || p[-1] == '\t'))
			break;
		if (*p == '$' && p + 1 < end && p[1] == '{') {
			if ((rc = expand(val, &p, end)) < 0)
				return rc;
			continue;
		}
		if ((rc = sb_putc(val, *p++)) < 0)
			return rc;
	}
	while (val->len > 0 && isspace((unsigned char)val->s[val->len - 1]))
		val->s[--val->len] = '\0';
	*pp = p;
	return 0;
}

/* Parses one assignment at *pp; 1 when one was found, 0 for a blank or comment line. */
static int
parse_one(const char **pp, const char *end, sbuf *key, sbuf *val, const char **why)
{
	const char *p = *pp;
	int rc;

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
			return PV_ENOMEM;
	if (kq && (p == end || *p++ != kq))
		return *why = "unterminated quoted name", MALFORMED;
	if (key->len == 0)
		return *why = "expected NAME=VALUE", MALFORMED;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '=')
		return *why = "expected '=' after the name", MALFORMED;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (val->s == NULL && sb_putn(val, "", 0) < 0)
		return PV_ENOMEM;
	if (p < end && (*p == '\'' || *p == '"'))
		rc = parse_quoted(val, &p, end, why);
	else
		rc = parse_bare(val, &p, end);
	if (rc < 0)
		return rc;
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
	sbuf key = { 0 }, val = { .max = DOTENV_VALUE_MAX };
	size_t total = 0;
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
		if (got == PV_ENOMEM) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		if (got == MALFORMED) {
			rc = pv_fail(err, PV_ECONFIG, "%s:%u: %s", path, line, why);
			break;
		}
		if (got == TOO_LONG) {
			rc = pv_fail(err, PV_ECONFIG, "%s:%u: the value of %.100s is longer than %d bytes after expansion",
			    path, line, key.s, DOTENV_VALUE_MAX);
			break;
		}
		if (got == 1 && (total += val.len) > DOTENV_TOTAL_MAX) {
			rc = pv_fail(err, PV_ECONFIG,
			    "%s:%u: the values up to this line add up to more than %d bytes after expansion", path, line,
			    DOTENV_TOTAL_MAX);
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
