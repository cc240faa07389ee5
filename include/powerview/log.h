/* Logs on standard error: "2026-11-27T08:16:51Z [INFO] tsv_parser: ..." */
#ifndef POWERVIEW_LOG_H
#define POWERVIEW_LOG_H

#include <stdbool.h>

typedef enum pv_log_level {
	PV_LOG_DEBUG, PV_LOG_INFO, PV_LOG_WARNING, PV_LOG_ERROR
} pv_log_level;

void pv_log_set_level(pv_log_level level);
/* Parses DEBUG / INFO / WARNING (WARN) / ERROR, any case, into *level; false when unknown. */
bool pv_log_level_parse(pv_log_level *level, const char *s);
void pv_log(pv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A status line kept below the log lines, for a terminal only: drawn in
 * place (carriage return, no newline), cleared before each log line and
 * drawn again after it. NULL or "" clears it. At most 255 bytes; the caller
 * fits it to the terminal's width.
 */
void pv_log_status(const char *line);

#define pv_debug(...) pv_log(PV_LOG_DEBUG, __VA_ARGS__)
#define pv_info(...) pv_log(PV_LOG_INFO, __VA_ARGS__)
#define pv_warn(...) pv_log(PV_LOG_WARNING, __VA_ARGS__)
#define pv_error(...) pv_log(PV_LOG_ERROR, __VA_ARGS__)

#endif
