#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "powerview/log.h"

static pv_log_level threshold = PV_LOG_INFO;
static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };

/* The status line at the bottom of the terminal, and the lock of stderr's lines. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char status[256];
static int status_len;

void
pv_log_set_level(pv_log_level level)
{
	threshold = level;
}

bool
pv_log_level_parse(pv_log_level *level, const char *s)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return *level = (pv_log_level)i, true;
	if (strcasecmp(s, "WARN") == 0)
		return *level = PV_LOG_WARNING, true;
	return false;
}

void
pv_log_status(const char *line)
{
	int n = line ? (int)strnlen(line, sizeof(status) - 1) : 0;

	pthread_mutex_lock(&lock);
	/* the old line blanked out, the cursor left at the end of the new one */
	if (n > 0 || status_len > 0)
		fprintf(stderr, "\r%*s\r%.*s", status_len, "", n, line ? line : "");
	memcpy(status, line ? line : "", (size_t)n);
	status[n] = '\0';
	status_len = n;
	pthread_mutex_unlock(&lock);
}

void
pv_log(pv_log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < threshold)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One fprintf per line keeps lines whole when several runs share a log. */
	char line[2048];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one event, one line: a newline in a file name cannot split it */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = '?';
	pthread_mutex_lock(&lock);
	if (status_len == 0)
		fprintf(stderr, "%s [%s] tsv_parser: %s\n", stamp, names[level], line);
	else
		/* the status line cleared, the log line, the status line again below it */
		fprintf(stderr, "\r%*s\r%s [%s] tsv_parser: %s\n%s", status_len, "", stamp,
		    names[level], line, status);
	pthread_mutex_unlock(&lock);
}
