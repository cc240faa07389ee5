/* Run reports (JSON). */
#ifndef POWERVIEW_REPORT_H
#define POWERVIEW_REPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "powerview/ingest.h"

typedef struct pv_run {
	char run_id[48];
	char start_time[48];
	char end_time[48];
	double duration_s;
	const char *base_folder;
	uint64_t nb_files_total, nb_files_success, nb_files_failed, nb_points_total;
	bool dry_run;
	cJSON *files;  /* array of per-file objects, owned */
} pv_run;

/* Python-compatible isoformat of a UTC time: 2026-11-27T06:46:20.318995+00:00 */
void pv_report_isotime(char *buf, size_t size, int64_t sec, long usec);
/* RFC 3339 second: 2026-11-27T06:46:20+00:00 */
void pv_report_rfc3339(char *buf, size_t size, int64_t sec);

/* A finite double as JSON that reads back exactly (null when not finite). */
cJSON *pv_json_number(double v);

/* A JSON string that is always valid UTF-8: each invalid byte becomes the
 * four characters \xHH. NULL gives null. */
cJSON *pv_json_string(const char *s);

cJSON *pv_report_file(const pv_file_result *r);
cJSON *pv_report_run(const pv_run *run);

/* "tsv_parser_<run_id with ':' replaced by '-'>.json" */
void pv_report_file_name(char *buf, size_t size, const char *run_id);

#endif
