/* Run reports (JSON). */
#ifndef POWERVIEW_REPORT_H
#define POWERVIEW_REPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "powerview/ingest.h"

typedef struct pv_run {
	char run_id[48];
	char start_time[48];
	char end_time[48];
	double duration_s;
	const char *base_folder;
	uint64_t nb_files_total, nb_files_success, nb_files_failed, nb_files_pending, nb_points_total;
	bool dry_run;
	bool interrupted; /* stopped by a signal */
} pv_run;

/*
 * The run report, written as the run goes, so that memory does not grow
 * with the number of files: the run's identity, then each file's object,
 * then the figures known at the end. One JSON document, tab-indented.
 */
typedef struct pv_report_writer {
	FILE *fp;
	bool first;   /* no file written yet */
	bool failed;  /* out of memory on the way */
} pv_report_writer;

/* run_id, start_time, base_folder, dry_run, and the opening of "files". */
void pv_report_begin(pv_report_writer *w, FILE *fp, const pv_run *run);
/* One file's object (pv_report_file). */
void pv_report_add(pv_report_writer *w, const cJSON *file);
/* Closes "files", then end_time, duration_s, the nb_* figures, status and the
 * members of `more` (may be NULL). PV_EIO when something could not be written. */
int pv_report_end(pv_report_writer *w, const pv_run *run, const cJSON *more);
/* "success", "partial_failure" (a file in error/ or pending) or "interrupted". */
const char *pv_report_status(const pv_run *run);

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

/* "tsv_parser_<run_id with ':' replaced by '-'>.json" */
void pv_report_file_name(char *buf, size_t size, const char *run_id);

#endif
