/*
 * tsv_parser downsample: recompute the downsampled copies (the backfill).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/downsample.h"
#include "powerview/influx.h"
#include "powerview/path.h"
#include "powerview/scan.h"
#include "powerview/tz.h"
#include "powerview/windows.h"
#include "cli.h"
#include "powerview/downsample.h"

static void
usage_downsample(FILE *fp)
{
	fputs("usage: " SYN_DOWNSAMPLE
	    "\n"
	    "Recomputes the downsampled copies (levels TSV_DOWNSAMPLE_LEVELS, default\n"
	    "1h,1d,1w) of each bucket from its raw points, chunk by chunk, in time order.\n"
	    "An interrupted backfill (a signal, the database unavailable) is resumed by\n"
	    "the same command: its state is downsample-state.json in the reports folder.\n"
	    "VictoriaMetrics and a file output keep no downsampled copies: nothing to do.\n"
	    "\n"
	    "  -d, --data-folder dir  data folder: each company folder is a bucket\n"
	    "  -b, --bucket name      this bucket only (it need not have a folder)\n"
	    "      --start T          from T: RFC 3339 (2026-03-01T00:00:00Z, +01:00) or a\n"
	    "                         date (2026-03-01: local midnight, TSV_TIMEZONE);\n"
	    "                         default: the bucket's first point\n"
	    "      --end T            until T, excluded; default: after the last point\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 done (or nothing to do), 64 usage, 65 data refused, 66 no data folder,\n"
	    "  missing file or a bucket not in the database, 75 interrupted (a signal, the\n"
	    "  database unavailable: run it again to resume), 78 configuration, downsampling\n"
	    "  off (TSV_DOWNSAMPLE=0) or a query refused\n",
	    fp);
}

/* A chunk's progress line, drawn on the terminal. */
static void
draw(const char *line, void *arg)
{
	char copy[256];

	snprintf(copy, sizeof(copy), "%s", line);
	cli_progress_draw(arg, copy);
}

/*
 * What the settings say of a backfill: its levels and its database, or
 * nothing to do (a file output, VictoriaMetrics, no level). CLI_GO_ON to go on,
 * else the exit status.
 */
static int
backfill_target(pv_level levels[PV_LEVELS_MAX], size_t *nlevels, pv_influx_config *icfg, const pv_settings *s)
{
	pv_err err;

	if (!pv_settings_bool(s, "downsample.enabled")) {
		pv_error("downsampling is off (TSV_DOWNSAMPLE=0, downsample.enabled): nothing to recompute");
		return EX_CONFIG;
	}
	/* checked by the table: this only converts */
	if (pv_levels_parse(pv_settings_str(s, "downsample.levels"), levels, nlevels, &err) < 0)
		*nlevels = 0;
	if (pv_settings_str(s, "sink.output") != NULL) {
		pv_info("the output is a file (TSV_OUTPUT): a file keeps no downsampled copies, nothing to do");
		return 0;
	}
	if (pv_influx_config_from_settings(icfg, s, &err) < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	if (icfg->api == PV_API_VM) {
		pv_info("VictoriaMetrics keeps no downsampled copies (INFLUXDB_API=vm): nothing to do");
		return 0;
	}
	if (*nlevels == 0) {
		pv_info("no downsampling level (TSV_DOWNSAMPLE_LEVELS is empty): nothing to do");
		return 0;
	}
	return CLI_GO_ON;
}

/* --start and --end: RFC 3339, or a date; its local midnight once tz is known (NULL: shape only). */
static bool
downsample_times(const pv_downsample_opts *job, int64_t *start, int64_t *end, pv_tz *tz)
{
	return (job->start_arg == NULL || pv_downsample_time(start, job->start_arg, tz) == 0) &&
	    (job->end_arg == NULL || pv_downsample_time(end, job->end_arg, tz) == 0);
}

/* The command's options into o, *data and job; CLI_GO_ON to go on, else the exit status. */
static int
downsample_options(cli_opts *o, const char **data, pv_downsample_opts *job, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_DATA_FOLDER,
		{ "bucket", required_argument, NULL, 'b' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'E' },
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	int64_t start, end;
	int ch;

	while ((ch = cli_getopt(o, argc, argv, "d:b:qvh", longopts)) != -1) {
		switch (ch) {
		case 'd': *data = optarg; break;
		case 'b': job->bucket_arg = optarg; break;
		case 's': job->start_arg = optarg; break;
		case 'E': job->end_arg = optarg; break;
		case 'h': usage_downsample(stdout); return 0;
		default: return cli_usage_error("downsample", NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error("downsample", "unexpected argument '%s'", argv[optind]);
	if (*data == NULL)
		return cli_usage_error("downsample", "-d (--data-folder) is required");
	if (job->bucket_arg != NULL && pv_name_problem(job->bucket_arg) != NULL)
		return cli_usage_error("downsample", "bucket name %s", pv_name_problem(job->bucket_arg));
	if (job->start_arg != NULL && pv_downsample_time(&start, job->start_arg, NULL) < 0)
		return cli_usage_error("downsample", "--start: '%s' is not an RFC 3339 time "
		    "(2026-03-01T00:00:00Z) or a date (2026-03-01)", job->start_arg);
	if (job->end_arg != NULL && pv_downsample_time(&end, job->end_arg, NULL) < 0)
		return cli_usage_error("downsample", "--end: '%s' is not an RFC 3339 time "
		    "(2026-03-01T00:00:00Z) or a date (2026-03-01)", job->end_arg);
	return CLI_GO_ON;
}

/* The data folder (its real path into *real) and the buckets to do: 0, or the exit status (said). */
static int
downsample_buckets(pv_paths *buckets, char **real, const char *data, const char *bucket_arg)
{
	struct stat st;
	pv_err err;
	int rc;

	if (stat(data, &st) < 0 || !S_ISDIR(st.st_mode) || (*real = realpath(data, NULL)) == NULL) {
		pv_error("data folder %s: %s", data, errno ? strerror(errno) : "not a folder");
		return EX_NOINPUT;
	}
	if (bucket_arg != NULL)
		return pv_paths_add(buckets, bucket_arg) < 0 ? EX_OSERR : 0;
	if ((rc = pv_downsample_buckets(buckets, *real, &err)) < 0) {
		pv_error("%s", err.msg);
		return cli_exit(rc);
	}
	return 0;
}

/* tsv_parser downsample -d DATA [--bucket B] [--start T] [--end T]: the backfill. */
int
cli_cmd_downsample(int argc, char **argv)
{
	cli_opts o = { 0 };
	const char *data = NULL;
	pv_downsample_opts job = { 0 };
	pv_downsample *ds = NULL;
	pv_paths buckets = { 0 };
	pv_level levels[PV_LEVELS_MAX];
	size_t nlevels = 0;
	int64_t start = 0, end = 0;
	pv_settings *settings = NULL;
	pv_influx_config icfg;
	pv_config cfg;
	pv_sink *sink = NULL;
	pv_tz *tz = NULL;
	pv_log_level level;
	cli_progress bar;
	char *real = NULL;
	pv_err err;
	int status;

	if ((status = downsample_options(&o, &data, &job, argc, argv)) != CLI_GO_ON)
		return status;
	if ((status = cli_command_settings(&settings, &o, &level)) != 0)
		return status;
	cli_parser_config(&cfg, settings);
	status = EX_CONFIG;
	if (pv_tz_open(&tz, cfg.timezone, &err) < 0) {
		pv_error("TSV_TIMEZONE: %s", err.msg);
		goto out;
	}
	status = EX_USAGE;
	if (!downsample_times(&job, &start, &end, tz)) {
		cli_usage_error("downsample", "--start or --end: not a time in %s", pv_tz_name(tz));
		goto out;
	}
	if (job.start_arg != NULL && job.end_arg != NULL && start >= end) {
		cli_usage_error("downsample", "--start %s is not before --end %s", job.start_arg, job.end_arg);
		goto out;
	}
	if ((status = backfill_target(levels, &nlevels, &icfg, settings)) != CLI_GO_ON ||
	    (status = downsample_buckets(&buckets, &real, data, job.bucket_arg)) != 0)
		goto out;
	job.data = real;
	job.start = job.start_arg ? &start : NULL;
	job.end = job.end_arg ? &end : NULL;
	job.levels = levels;
	job.nlevels = nlevels;
	job.report_dir = pv_settings_str(settings, "reports.dir");
	job.tz = tz;
	if (cli_progress_start(&bar, level, false)) {
		job.progress = draw;
		job.progress_arg = &bar;
	}
	if ((status = pv_downsample_open(&ds, &job, &err)) < 0 ||
	    (status = pv_sink_influx_open(&sink, &icfg, &err)) < 0) {
		pv_error("%s", err.msg);
		status = cli_exit(status);
		goto out;
	}
	cli_catch_signals();
	status = cli_exit(pv_downsample_run(ds, sink, &buckets));
out:
	pv_sink_free(sink);
	pv_tz_free(tz);
	pv_paths_free(&buckets);
	pv_downsample_free(ds);
	free(real);
	pv_settings_free(settings);
	return status;
}
