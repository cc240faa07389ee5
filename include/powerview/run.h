/* A run: every file of the list through ingest and settle, then the report. */
#ifndef POWERVIEW_RUN_H
#define POWERVIEW_RUN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "powerview/ingest.h"
#include "powerview/scan.h"
#include "powerview/sink.h"

/* The running totals of a run: after each file for the progress hook, at the end in the outcome. */
typedef struct pv_run_totals {
	size_t nb_files;        /* files to take (counted before, and at the end those taken) */
	size_t nb_done;         /* files taken so far (fewer at the end when the run stopped) */
	size_t nb_success, nb_error, nb_pending, nb_skipped;
	uint64_t nb_points;     /* points of the files that succeeded */
	double elapsed_s;       /* since the run began */
} pv_run_totals;

typedef struct pv_run_opts {
	const char *data_dir;
	pv_walk *files;         /* the files to take, in order */
	struct pv_spool *spool; /* or: the spool's copies, oldest first (its worker's lock held) */
	bool dry_run;           /* nothing written, moved or created */
	pv_sink *sink;          /* a dry run: NULL, or where it previews its points */
	const char *report_dir; /* NULL: <data folder>/../logs/reports */
	bool verify;            /* count each file's points back when the sink can */
	const pv_passed_list *passed; /* what the scan passed over (NULL: nothing) */
	FILE *report_stream;    /* the report goes there as the run goes (a dry run's
	                           standard output); NULL: a report file, for a real run */
	pv_config cfg;
	/* the settings in effect: reports.keep_days, and config_api.url and downsample.*
	   for pv_run_prepare; NULL: the environment's and the defaults */
	const struct pv_settings *settings;
	struct pv_publisher *publisher; /* CONFIG_API_URL: channels posted after each success; NULL: none */
	/* downsampling after each success (TSV_DOWNSAMPLE, TSV_DOWNSAMPLE_LEVELS) in downsample_tz
	   (TSV_TIMEZONE); nlevels 0: none */
	pv_level levels[PV_LEVELS_MAX];
	size_t nlevels;
	pv_tz *downsample_tz;
	/* called once per file, once it is settled and logged; NULL: none */
	void (*progress)(const pv_run_totals *t, void *arg);
	void *progress_arg;
} pv_run_opts;

typedef struct pv_run_outcome {
	char *report_path;      /* where it was written, or NULL */
	bool report_failed;
	bool interrupted;       /* a signal stopped it before its last file (a signal after it changes nothing) */
	pv_run_totals totals;   /* the figures of the whole run */
} pv_run_outcome;

/* Runs the files. Returns PV_OK, or PV_ECONFIG / PV_ENOMEM when the run had to stop. */
int pv_run_files(pv_run_outcome *out, const pv_run_opts *opts, pv_err *err);
void pv_run_outcome_free(pv_run_outcome *out);

/* The default report folder of a data folder: <realpath(data)>/../logs/reports. */
char *pv_run_default_report_dir(const char *data_dir);

/*
 * A run's inputs checked before anything is read: the data folder is a
 * folder, each named file a regular file (one this user cannot reach is
 * left to the run, which reports it). PV_ENOENT, said in err, otherwise.
 */
int pv_run_check_inputs(const char *data_dir, const pv_paths *files, pv_err *err);

struct pv_influx_config;

/* Where a run's points go, and what follows each success in the database. */
typedef struct pv_run_targets {
	const char *output;     /* a file ('-': standard output), or NULL: the database */
	const struct pv_influx_config *db; /* the database (output NULL) */
} pv_run_targets;

/*
 * Opens the sink of t into opts->sink and, for a real run into the
 * database, the publisher and the downsampling (levels, and their time
 * zone opts->cfg.timezone). pv_run_release closes what it opened, even
 * after a failure.
 */
int pv_run_prepare(pv_run_opts *opts, const pv_run_targets *t, pv_err *err);
void pv_run_release(pv_run_opts *opts);

#endif
