/* A run: every file of the list through ingest and settle, then the report. */
#ifndef POWERVIEW_RUN_H
#define POWERVIEW_RUN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "powerview/ingest.h"
#include "powerview/scan.h"
#include "powerview/sink.h"

typedef struct pv_run_opts {
	const char *data_dir;
	char *const *files;     /* the files to take, in order */
	size_t nfiles;
	bool dry_run;           /* nothing written, moved or created */
	pv_sink *sink;          /* NULL for a dry run */
	const char *report_dir; /* NULL: <data folder>/../logs/reports */
	bool verify;            /* count each file's points back when the sink can */
	const pv_passed_list *passed; /* what the scan passed over (NULL: nothing) */
	FILE *report_stream;    /* the report goes there as the run goes (a dry run's
	                           standard output); NULL: a report file, for a real run */
	pv_config cfg;
} pv_run_opts;

typedef struct pv_run_outcome {
	char *report_path;      /* where it was written, or NULL */
	size_t nb_error, nb_pending;
	bool report_failed;
} pv_run_outcome;

/* Runs the files. Returns PV_OK, or PV_ECONFIG / PV_ENOMEM when the run had to stop. */
int pv_run_files(pv_run_outcome *out, const pv_run_opts *opts, pv_err *err);
void pv_run_outcome_free(pv_run_outcome *out);

/* The default report folder of a data folder: <realpath(data)>/../logs/reports. */
char *pv_run_default_report_dir(const char *data_dir);

#endif
