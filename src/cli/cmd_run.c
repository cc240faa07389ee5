/*
 * tsv_parser -d dir: the run (scan, spool, ingest), the default command.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "powerview/influx.h"
#include "powerview/report.h"
#include "powerview/run.h"
#include "powerview/scan.h"
#include "cli.h"

/* tsv_parser --help: every form, then the run's options. */
static void
usage(FILE *fp)
{
	fputs("usage: " SYN_RUN
	    "       " SYN_SPOOL
	    "       " SYN_TOKEN
	    "       " SYN_CHANNELS
	    "       " SYN_CONFIG
	    "       " SYN_STATUS
	    "       " SYN_DOWNSAMPLE
	    "       tsv_parser [spool | token | channels | config | status | downsample] -h\n"
	    "       tsv_parser --version\n"
	    "\n"
	    "  -d, --data-folder dir  data folder: dir/<company>/<campaign>/<device>/*.tsv\n"
	    "  -t, --tsv-file file    file to ingest (repeatable); without it, dir is\n"
	    "                         scanned: its files spooled, then the spool worked\n"
	    "      --spool            work the spool only: ingest its copies, oldest first\n"
	    "      --dry-run          read and report only: nothing moved, locked or sent;\n"
	    "                         stdout carries the JSON run report\n"
	    "  -o, --output path      append line protocol to path ('-': standard output)\n"
	    "                         instead of sending it to the database; with --dry-run,\n"
	    "                         a preview (-o -: stdout carries only line protocol)\n"
	    "      --no-verify        do not count each file's points back from the database\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "      --version          the version\n"
	    "  (--dataFolder and --tsvFile: the older names of --data-folder and --tsv-file)\n"
	    "\n"
	    "commands: spool (copy uploads into the spool), token (a bucket's token),\n"
	    "  channels (publish a bucket's stored channels), config (the settings in\n"
	    "  effect), status (what the runs did, what waits), downsample (recompute\n"
	    "  the downsampled copies: the backfill);\n"
	    "  'tsv_parser COMMAND --help' for their options\n"
	    "environment: INFLUXDB_HOST (or INFLUXDB_URL), INFLUXDB_ORG,\n"
	    "  INFLUXDB_ADMIN_TOKEN, INFLUXDB_API (v2|v1|vm), TSV_META_BUCKET, TSV_TIMEZONE,\n"
	    "  TSV_CHANNEL_ID_SCHEME, TSV_FILE_NAME_TAG, TSV_LOG_LEVEL, TSV_REPORT_DIR,\n"
	    "  TSV_SPOOL_DIR;\n"
	    "  see tsv_parser(1)\n"
	    "exit: 0 success, 64 usage, 65 a file went to error/, 66 missing input,\n"
	    "  73 report not written, 75 database unavailable (files kept), 78 configuration\n",
	    fp);
}

/*
 * A scan's first step: every file the walk yields is copied into the spool.
 * One the spool does not take for the file's own sake (unreadable, locked
 * by another run, changing, gone) is left to the run, which takes it
 * directly as before the spool, and reports it (`direct`, at most
 * PV_PASSED_MAX, the others noted); the spool failing ends the step.
 */
static int
spool_scan(pv_spool *sp, pv_walk *walk, pv_paths *direct, pv_passed_list *passed)
{
	const char *path;
	pv_err err = { "" };
	size_t copied = 0, already = 0, other = 0;
	int rc, status = 0;

	pv_spool_batch(sp);
	while ((rc = pv_walk_next(walk, &path, &err)) == 1) {
		if (pv_stop_signal() != 0)
			break;
		/* the run's own line for each file follows: this one is for debugging */
		pv_spooled how = cli_spool_one(sp, path, PV_LOG_DEBUG, &err);
		if (how == PV_SPOOL_COPIED) {
			copied++;
		} else if (how == PV_SPOOL_ALREADY) {
			already++;
		} else if (how == PV_SPOOL_FAILED) {
			pv_error("%s", err.msg);
			status = EX_CANTCREAT;
			break;
		} else if (direct->count < PV_PASSED_MAX) {
			if (pv_paths_add(direct, path) < 0)
				return EX_OSERR;
		} else {
			other++;
			pv_passed_add(passed, PV_PASSED_FILE, path, err.msg);
		}
	}
	if (rc < 0) {
		pv_error("%s", err.msg);
		status = EX_IOERR;
	}
	/* durable before the worker moves any original: else no worker (74) */
	if (pv_spool_sync(sp, &err) < 0) {
		pv_error("%s", err.msg);
		status = EX_IOERR;
	}
	pv_info("%zu files copied into the spool %s, %zu there already%s", copied, pv_spool_dir(sp),
	    already, other > 0 ? "; others left for a later run (see below)" : "");
	return status;
}

/*
 * The last line of every run, at INFO, its numbers easy to parse:
 * "[dry run: ]N files: A ingested, B to error/, C pending, D skipped; P points in T s"
 * then "; K not taken (run stopped)" and "; Y left for a later run (modified
 * in the last S s)" when they apply; a run that found no file says so.
 */
static void
log_summary(const pv_run_totals *t, bool dry_run, const char *data_dir, size_t young, double min_age)
{
	const char *mode = dry_run ? "dry run: " : "";
	char tail[256] = "";
	int n = 0;

	if (t->nb_done < t->nb_files)
		n = snprintf(tail, sizeof(tail), "; %zu not taken (run stopped)", t->nb_files - t->nb_done);
	if (young > 0)
		snprintf(tail + n, sizeof(tail) - (size_t)n,
		    "; %zu left for a later run (modified in the last %g s)", young, min_age);
	if (t->nb_files == 0)
		pv_info("%s0 files: no TSV files found to process in %s%s", mode, data_dir, tail);
	else
		pv_info("%s%zu %s: %zu ingested, %zu to error/, %zu pending, %zu skipped; "
		    "%" PRIu64 " %s in %.1f s%s", mode, t->nb_files, t->nb_files == 1 ? "file" : "files",
		    t->nb_success, t->nb_error, t->nb_pending, t->nb_skipped, t->nb_points,
		    t->nb_points == 1 ? "point" : "points", t->elapsed_s, tail);
}

/* "42 s", "3 min 05 s", "2 h 07 min" */
static void
duration_text(char *buf, size_t size, double secs)
{
	long s = (long)(secs + 0.5);

	if (s < 60)
		snprintf(buf, size, "%ld s", s);
	else if (s < 3600)
		snprintf(buf, size, "%ld min %02ld s", s / 60, s % 60);
	else
		snprintf(buf, size, "%ld h %02ld min", s / 3600, s % 3600 / 60);
}

/*
 * The run's progress hook: "120/2000 files, 324000 points, 2 errors,
 * 850 files/s, 2 s left", redrawn in place; gone once the last file is done.
 */
static void
progress_update(const pv_run_totals *t, void *arg)
{
	cli_progress *p = arg;
	struct timespec now;
	char line[256], left[32], pending[32] = "";
	double rate;

	if (t->nb_done >= t->nb_files) {
		pv_log_status(NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->drawn && (double)(now.tv_sec - p->last.tv_sec) +
	    (double)(now.tv_nsec - p->last.tv_nsec) / 1e9 < 0.1)
		return;
	p->last = now;
	p->drawn = true;
	rate = t->elapsed_s > 0 ? (double)t->nb_done / t->elapsed_s : 0;
	if (rate > 0)
		duration_text(left, sizeof(left), (double)(t->nb_files - t->nb_done) / rate);
	else
		snprintf(left, sizeof(left), "?");
	if (t->nb_pending > 0)
		snprintf(pending, sizeof(pending), ", %zu pending", t->nb_pending);
	snprintf(line, sizeof(line), "%zu/%zu files, %" PRIu64 " points, %zu errors%s, %.*f files/s, %s left",
	    t->nb_done, t->nb_files, t->nb_points, t->nb_error, pending, rate < 10 ? 1 : 0, rate, left);
	cli_progress_draw(p, line);
}

/* How many copies wait in the spool (none without one). */
static size_t
spool_waiting(pv_spool *sp)
{
	size_t n = 0;
	pv_err err;

	if (sp != NULL && pv_spool_count(sp, &n, &err) < 0)
		pv_warn("%s", err.msg);
	return n;
}

/* The worker's last run, for `tsv_parser status`. */
static void
record_run(pv_spool *sp, const pv_run_outcome *out, int status)
{
	char when[40];
	pv_err err;
	cJSON *o = cJSON_CreateObject();

	pv_report_isotime(when, sizeof(when), (int64_t)time(NULL), 0);
	cJSON_AddStringToObject(o, "ended", when);
	cJSON_AddNumberToObject(o, "duration_s", out->totals.elapsed_s);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, "exit", status);
	cJSON_AddNumberToObject(o, "nb_files", (double)out->totals.nb_done);
	cJSON_AddNumberToObject(o, "nb_success", (double)out->totals.nb_success);
	cJSON_AddNumberToObject(o, "nb_error", (double)out->totals.nb_error);
	cJSON_AddNumberToObject(o, "nb_pending", (double)out->totals.nb_pending);
	if (out->report_path != NULL)
		cJSON_AddStringToObject(o, "report", out->report_path);
	if (pv_spool_record_run(sp, o, &err) < 0)
		pv_warn("cannot record the worker's run in the spool: %s", err.msg);
	cJSON_Delete(o);
}

/* What the run's options ask for. */
typedef struct run_args {
	cli_opts o;
	const char *data_dir, *output;
	pv_paths files;
	bool dry_run, no_verify, worker;
} run_args;

/* The run's options into r; CLI_GO_ON to go on, else the exit status (help, version, a usage error). */
static int
run_options(run_args *r, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_DATA_FOLDER,
		{ "tsv-file", required_argument, NULL, 't' },
		{ "tsvFile", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "spool", no_argument, NULL, 'S' },
		CLI_LONGOPTS_SHARED,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = cli_getopt(&r->o, argc, argv, "d:t:o:qvh", longopts)) != -1) {
		switch (ch) {
		case 'd': r->data_dir = optarg; break;
		case 't':
			if (pv_paths_add(&r->files, optarg) < 0) {
				pv_error("out of memory");
				return EX_OSERR;
			}
			break;
		case 'n': r->dry_run = true; break;
		case 'o': r->output = optarg; break;
		case 'N': r->no_verify = true; break;
		case 'S': r->worker = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tsv_parser %s\n", PV_VERSION); return 0;
		default: return cli_usage_error(NULL, NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error(NULL, "unexpected argument '%s'", argv[optind]);
	if (r->data_dir == NULL)
		return cli_usage_error(NULL, "-d (--data-folder) is required");
	if (r->worker && (r->files.count > 0 || r->dry_run))
		return cli_usage_error(NULL, "--spool works the spool: not with %s", r->dry_run ? "--dry-run" : "-t");
	return CLI_GO_ON;
}

/*
 * The spool's step of a real scan or of the worker: the scan's files
 * copied into it (those it does not take left to the run: *walk), then its
 * lock. CLI_GO_ON to go on, else the exit status.
 */
static int
run_spool(pv_spool *sp, pv_walk **walk, pv_paths *direct, pv_passed_list *passed, int *spool_status)
{
	pv_err err = { "" };
	int rc;

	cli_catch_signals();
	if (*walk != NULL) {
		*spool_status = spool_scan(sp, *walk, direct, passed);
		pv_walk_free(*walk);
		*walk = NULL;
		if (pv_stop_signal() != 0)
			return 128 + pv_stop_signal();
		if (*spool_status == EX_IOERR || *spool_status == EX_OSERR)
			return *spool_status;
		if (direct->count > 0 && (rc = pv_walk_list(walk, direct->items, direct->count, &err)) < 0) {
			pv_error("%s", err.msg);
			return EX_OSERR;
		}
	}
	/* one worker at a time: the one running takes the new copies too */
	if ((rc = pv_spool_lock(sp, &err)) <= 0) {
		pv_passed_log(passed);
		if (rc < 0)
			pv_error("%s", err.msg);
		else
			pv_info("another worker is running (it takes the spooled files): nothing to do");
		return rc < 0 ? EX_CANTCREAT : *spool_status;
	}
	return CLI_GO_ON;
}

/* The exit status of a run that ran (rc: pv_run_files'): its files, its report, else the spool step's. */
static int
run_status(int rc, const pv_run_outcome *out, bool dry_run, int spool_status, const pv_err *err)
{
	int status;

	if (rc < 0) {
		pv_error("%s", err->msg);
		status = cli_exit(rc);
	} else if (out->totals.nb_pending > 0)
		status = EX_TEMPFAIL;
	else if (out->totals.nb_error > 0)
		status = EX_DATAERR;
	else if (out->report_failed || (dry_run && fflush(stdout) == EOF)) {
		if (dry_run)
			pv_error("cannot print the run report");
		status = dry_run ? EX_IOERR : EX_CANTCREAT;
	} else
		status = spool_status;
	if (out->interrupted) {
		/* as a shell reports a command killed by the signal: 130, 143 */
		pv_warn("run interrupted by signal %d: the files not finished stay for the next run",
		    pv_stop_signal());
		status = 128 + pv_stop_signal();
	}
	return status;
}

/* The command's state, from its options to its run. */
typedef struct run_cmd {
	run_args a;
	pv_settings *settings;
	const char *output;     /* where the points go: NULL for the database */
	pv_influx_config icfg;
	pv_log_level level;
	pv_spool *spool;
	pv_walk *walk;
	pv_paths direct;        /* the scan's files the spool left to the run */
	pv_passed_list passed;
	double min_age;
	size_t young;           /* files left for a later run, too young */
	int spool_status;
	pv_run_opts opts;
} run_cmd;

/* The settings, checked, into c->opts; CLI_GO_ON to go on, else the exit status. */
static int
run_configure(run_cmd *c)
{
	pv_run_opts *opts = &c->opts;
	pv_err err = { "" };
	int status;

	opts->dry_run = c->a.dry_run;
	if ((status = cli_settings(&c->settings, &c->a.o, c->a.output, c->a.no_verify)) != 0)
		return status;
	if ((status = cli_check_settings(c->settings)) != 0)
		return status;
	c->level = cli_log_level(c->settings);
	cli_parser_config(&opts->cfg, c->settings);
	opts->settings = c->settings;
	c->output = c->a.output;
	/* a dry run writes its points only where -o says: a preview, which locks nothing */
	if (!opts->dry_run && pv_settings_str(c->settings, "sink.output") != NULL)
		c->output = pv_settings_str(c->settings, "sink.output");
	opts->cfg.no_lock = opts->dry_run;
	opts->verify = pv_settings_bool(c->settings, "sink.verify");
	/* the database settings are checked before anything is read */
	if (!opts->dry_run && c->output == NULL &&
	    pv_influx_config_from_settings(&c->icfg, c->settings, &err) < 0) {
		pv_error("%s (or use --output PATH or --dry-run)", err.msg);
		return EX_CONFIG;
	}
	return CLI_GO_ON;
}

/*
 * The files to take: the -t files, or the data folder's (those old enough);
 * a real scan, or the worker, through the spool. CLI_GO_ON to go on, else
 * the exit status.
 */
static int
run_inputs(run_cmd *c)
{
	pv_err err = { "" };
	int rc, status;

	if ((rc = pv_run_check_inputs(c->a.data_dir, &c->a.files, &err)) < 0) {
		pv_error("%s", err.msg);
		return cli_exit(rc);
	}
	/* a real scan, or the worker: through the spool (a dry run only reads) */
	if ((c->a.worker || (c->a.files.count == 0 && !c->opts.dry_run)) &&
	    (status = cli_spool_open(&c->spool, c->settings, c->a.data_dir)) != 0)
		return status;
	rc = PV_OK;
	if (c->a.files.count > 0) {
		rc = pv_walk_list(&c->walk, c->a.files.items, c->a.files.count, &err);
	} else if (!c->a.worker) {
		/* files still being written are left for the next run */
		c->min_age = pv_settings_num(c->settings, "parser.min_age");
		rc = pv_walk_open(&c->walk, c->a.data_dir, c->min_age, &c->passed, &err);
		if (rc == PV_OK && (c->young = pv_walk_young(c->walk)) > 0)
			pv_info("%zu files modified in the last %g s left for a later run", c->young, c->min_age);
	}
	if (rc < 0) {
		pv_error("%s", err.msg);
		return EX_NOINPUT;
	}
	if (c->spool != NULL) {
		if ((status = run_spool(c->spool, &c->walk, &c->direct, &c->passed, &c->spool_status)) != CLI_GO_ON)
			return status;
		c->opts.spool = c->spool;
	}
	return CLI_GO_ON;
}

/* Whether there is nothing to run (a dry run still reports): then *status is the exit status. */
static bool
run_nothing(run_cmd *c, int *status)
{
	pv_run_outcome out;

	if ((c->walk != NULL && pv_walk_total(c->walk) > 0) || spool_waiting(c->spool) > 0)
		return false;
	/* nothing to run, but what the scan passed over is still said */
	pv_passed_log(&c->passed);
	if (c->opts.dry_run)
		return false;
	memset(&out, 0, sizeof(out));
	log_summary(&out.totals, false, c->a.data_dir, c->young, c->min_age);
	*status = c->spool_status;
	if (c->spool != NULL)
		record_run(c->spool, &out, *status);
	return true;
}

/* The run itself: its sink, its report and progress, then its files; the exit status. */
static int
run_files(run_cmd *c)
{
	pv_run_opts *opts = &c->opts;
	const char *output = c->output;
	pv_run_outcome out;
	pv_err err = { "" };
	cli_progress bar;
	int rc, status;

	if ((c->spool != NULL || pv_walk_total(c->walk) > 0) && (!opts->dry_run || output != NULL)) {
		pv_run_targets targets = {
			.output = output,
			.db = &c->icfg,
		};
		if ((rc = pv_run_prepare(opts, &targets, &err)) < 0) {
			pv_error("%s", err.msg);
			return cli_exit(rc);
		}
	}
	opts->data_dir = c->a.data_dir;
	opts->files = c->walk;
	opts->report_dir = pv_settings_str(c->settings, "reports.dir");
	opts->passed = &c->passed;
	/*
	 * a dry run's report streams to standard output as the run goes, unless
	 * its preview's line protocol goes there: standard output never carries both
	 */
	if (opts->dry_run && (output == NULL || strcmp(output, "-") != 0))
		opts->report_stream = stdout;
	if (cli_progress_start(&bar, c->level, opts->report_stream == stdout ||
	    (output != NULL && strcmp(output, "-") == 0))) {
		opts->progress = progress_update;
		opts->progress_arg = &bar;
	}
	cli_catch_signals();
	rc = pv_run_files(&out, opts, &err);
	pv_log_status(NULL);
	status = run_status(rc, &out, opts->dry_run, c->spool_status, &err);
	log_summary(&out.totals, opts->dry_run, c->a.data_dir, c->young, c->min_age);
	if (c->spool != NULL)
		record_run(c->spool, &out, status);
	pv_run_outcome_free(&out);
	return status;
}

/* tsv_parser -d DIR [-t FILE]... [--spool] [--dry-run] [-o PATH]: the run. */
int
cli_cmd_run(int argc, char **argv)
{
	run_cmd c = { 0 };
	int status;

	if ((status = run_options(&c.a, argc, argv)) == CLI_GO_ON &&
	    (status = run_configure(&c)) == CLI_GO_ON &&
	    (status = run_inputs(&c)) == CLI_GO_ON && !run_nothing(&c, &status))
		status = run_files(&c);
	pv_spool_free(c.spool);
	pv_paths_free(&c.direct);
	pv_run_release(&c.opts);
	pv_walk_free(c.walk);
	pv_paths_free(&c.a.files);
	pv_passed_free(&c.passed);
	pv_settings_free(c.settings);
	return status;
}
