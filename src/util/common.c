#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "powerview/common.h"

int
pv_fail(pv_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *
pv_rc_name(int rc)
{
	switch (rc) {
	case PV_OK: return "ok";
	case PV_ENOMEM: return "out of memory";
	case PV_EIO: return "I/O error";
	case PV_EDATA: return "bad data";
	case PV_ECONFIG: return "configuration error";
	case PV_ETEMP: return "temporary failure";
	case PV_ENOENT: return "not found";
	case PV_ESTOP: return "stopped by a signal";
	default: return "unknown error";
	}
}

static volatile sig_atomic_t stop_sig;
static struct timespec stop_at;

void
pv_stop_request(int sig)
{
	if (stop_sig == 0)
		clock_gettime(CLOCK_MONOTONIC, &stop_at); /* async-signal-safe */
	stop_sig = sig;
}

int
pv_stop_signal(void)
{
	return stop_sig;
}

bool
pv_stop_overdue(double seconds)
{
	struct timespec now;

	if (stop_sig == 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - stop_at.tv_sec) + (double)(now.tv_nsec - stop_at.tv_nsec) / 1e9 >
	    seconds;
}

void
pv_buf_add(pv_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		char *np;
		while (nc < b->len + n + 1)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

int
pv_fmt_double(char *buf, size_t size, double v)
{
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return n;
}

int
pv_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PV_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
