#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powerview/lines.h"

#define READ_CHUNK (128 * 1024)

int
pv_lines_init(pv_lines *l, int fd)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->cap = 2 * READ_CHUNK;
	l->buf = malloc(l->cap);
	l->at_start = true;
	return l->buf ? PV_OK : PV_ENOMEM;
}

void
pv_lines_free(pv_lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

bool
pv_utf8_valid(const char *s, size_t n)
{
	return pv_utf8_span(s, n) == n;
}

size_t
pv_utf8_span(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		/* ASCII runs, eight bytes at a time. */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else
			return i;
		if (i + len > n)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k < len; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += len;
	}
	return n;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void
pv_trim(const char **s, size_t *n)
{
	const char *p = *s;
	size_t len = *n;

	while (len > 0 && is_space(p[0])) {
		p++;
		len--;
	}
	while (len > 0 && is_space(p[len - 1]))
		len--;
	*s = p;
	*n = len;
}

bool
pv_line_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Makes room after `end` for one more read, keeping the current line. */
static int
refill(pv_lines *l, pv_err *err)
{
	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end > PV_LINE_MAX)
		return pv_fail(err, PV_EDATA, "line %llu is longer than %d bytes",
		    (unsigned long long)l->lineno + 1, PV_LINE_MAX);
	if (l->cap - l->end < READ_CHUNK) {
		size_t cap = l->cap * 2;
		char *b = realloc(l->buf, cap);
		if (b == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		l->buf = b;
		l->cap = cap;
	}
	for (;;) {
		ssize_t got = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return pv_fail(err, PV_EDATA, "read error: %s", strerror(errno));
		if (got == 0)
			l->eof = true;
		l->end += (size_t)got;
		return PV_OK;
	}
}

int
pv_lines_next(pv_lines *l, const char **line, size_t *len, pv_err *err)
{
	size_t scanned = 0;

	for (;;) {
		char *p = l->buf + l->start + scanned;
		size_t avail = l->end - l->start - scanned;
		char *nl = memchr(p, '\n', avail);
		char *cr = memchr(p, '\r', nl ? (size_t)(nl - p) : avail);
		char *eol = cr ? cr : nl;
		size_t eol_len = 1;

		if (eol == cr && cr != NULL) {
			if (cr + 1 < l->buf + l->end)
				eol_len = cr[1] == '\n' ? 2 : 1;
			else if (!l->eof)
				eol = NULL; /* CR at the end of the buffer: CRLF or CR? read on */
		}
		if (eol == NULL && !l->eof) {
			scanned = l->end - l->start;
			if (eol == NULL && cr != NULL)
				scanned--; /* look at the CR again */
			int rc = refill(l, err);
			if (rc < 0)
				return rc;
			continue;
		}
		if (eol == NULL && l->start == l->end)
			return 0;

		char *s = l->buf + l->start;
		size_t n = eol ? (size_t)(eol - s) : l->end - l->start;
		l->start = eol ? (size_t)(eol - l->buf) + eol_len : l->end;
		l->unterminated = eol == NULL;
		l->lineno++;
		if (n > PV_LINE_MAX)
			return pv_fail(err, PV_EDATA, "line %llu is longer than %d bytes",
			    (unsigned long long)l->lineno, PV_LINE_MAX);
		if (l->at_start) {
			l->at_start = false;
			if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
				s += 3;
				n -= 3;
			}
		}
		if (!pv_utf8_valid(s, n))
			return pv_fail(err, PV_EDATA, "line %llu is not valid UTF-8",
			    (unsigned long long)l->lineno);
		*line = s;
		*len = n;
		return 1;
	}
}
