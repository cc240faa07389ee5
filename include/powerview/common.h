/* PowerView — result codes and error messages shared by every module. */
#ifndef POWERVIEW_COMMON_H
#define POWERVIEW_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define PV_VERSION "0.5.0"

/*
 * One result code threaded through every call: 0 is success, negatives
 * fail, with the reason in a pv_err. A function that also reports what it
 * found returns a positive value for it (documented where it does). "Is
 * this valid" questions (parsers of a name or a number) return bool
 * instead; helpers around system calls return bool or an fd, with errno.
 */
typedef enum pv_rc {
	PV_OK = 0,
	PV_ENOMEM = -1,  /* out of memory */
	PV_EIO = -2,     /* local I/O error that is not the input's fault */
	PV_EDATA = -3,   /* the input file is bad: it goes to error/ */
	PV_ECONFIG = -4, /* the configuration is wrong: stop the run */
	PV_ETEMP = -5,   /* the sink failed for now: keep the file, retry later */
	PV_ENOENT = -6,  /* the input file vanished */
	PV_ESTOP = -7    /* stopped by a signal: keep the file, stop the run */
} pv_rc;

/* A human-readable reason that travels with a failing result code. */
typedef struct pv_err {
	char msg[512];
} pv_err;

/* Formats the reason into err (when not NULL) and returns rc. */
int pv_fail(pv_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Short name of a result code, for logs. */
const char *pv_rc_name(int rc);

/*
 * A stop asked by a signal (SIGINT, SIGTERM): pv_stop_request is
 * async-signal-safe, for a handler; pv_stop_signal gives the signal (0: none);
 * pv_stop_overdue tells whether it came more than `seconds` ago, the grace
 * a file in progress gets to finish. pv_stop_request(0) forgets it.
 */
void pv_stop_request(int sig);
int pv_stop_signal(void);
bool pv_stop_overdue(double seconds);

/*
 * A text built piece by piece (a query): pv_buf_add appends s; after a
 * failed allocation oom stays set and further adds do nothing, so a builder
 * checks once at the end. p is malloc'ed (free it); { 0 } is empty.
 */
typedef struct pv_buf {
	char *p;
	size_t len, cap;
	bool oom;
} pv_buf;
void pv_buf_add(pv_buf *b, const char *s);

/*
 * The shortest of 15, 16 or 17 significant digits ("%.*g") that reads back
 * to v exactly (17 when none does), into buf (32 bytes hold any double);
 * returns the length snprintf gives.
 */
int pv_fmt_double(char *buf, size_t size, double v);

/* Writes all of buf to fd, again after EINTR or a short write: PV_OK, or PV_EIO with errno set. */
int pv_write_all(int fd, const void *buf, size_t len);

#endif
