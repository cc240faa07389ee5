/*
 * tsv_parser — ingest MV2 logger files into InfluxDB.
 * A thin tool over libpowerview: options, environment, exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "powerview/config.h"
#include "powerview/influx.h"
#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/run.h"
#include "powerview/scan.h"
#include "powerview/status.h"
#include "powerview/tz.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tsv_parser -d dir [-t file]... [--dry-run | -o path] [--no-verify]\n"
	    "                  [--config path] [--env-file path]\n"
	    "       tsv_parser token --bucket name [--write] [--rotate] [--config path]\n"
	    "                  [--env-file path]\n"
	    "       tsv_parser config [--config path] [--env-file path] [-o path] [--no-verify]\n"
	    "       tsv_parser status [-d dir] [--json] [--config path] [--env-file path]\n"
	    "       tsv_parser -h | --version\n"
	    "\n"
	    "  -d, --dataFolder dir  data folder: <dir>/<company>/<campaign>/<device>/<file>.tsv\n"
	    "  -t, --tsvFile file    file to ingest (repeatable); without it, dir is scanned\n"
	    "      --dry-run         read and report only: stdout carries the JSON run report\n"
	    "  -o, --output path     append line protocol to path ('-': standard output)\n"
	    "                        instead of sending it to InfluxDB\n"
	    "      --no-verify       do not count each file's points back from InfluxDB\n"
	    "      --config path     powerview.yaml (default: $POWERVIEW_CONFIG, else\n"
	    "                        /etc/powerview/powerview.yaml when it exists)\n"
	    "      --env-file path   variables file (default: ./.env when it exists)\n"
	    "  -h, --help            this help\n"
	    "      --version         the version\n"
	    "\n"
	    "environment: INFLUXDB_HOST (or INFLUXDB_URL), INFLUXDB_ORG, INFLUXDB_ADMIN_TOKEN,\n"
	    "  INFLUXDB_API (v2|v1|vm), TSV_META_BUCKET, TSV_TIMEZONE, TSV_CHANNEL_ID_SCHEME,\n"
	    "  TSV_FILE_NAME_TAG, TSV_LOG_LEVEL, TSV_REPORT_DIR; see tsv_parser(1)\n"
	    "exit: 0 success, 64 usage, 65 a file went to error/, 66 missing input,\n"
	    "  73 report not written, 75 database unavailable (files kept), 78 configuration\n");
}

static void log_from_env(void);

/* SIGINT, SIGTERM: the run stops cleanly after the file in progress; a second one stops it at once. */
static void
on_signal(int sig)
{
	if (pv_stop_signal() != 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	pv_stop_request(sig);
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a wait (a lock, a backoff) ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int
exit_for(int rc)
{
	switch (rc) {
	case PV_ECONFIG: return EX_CONFIG;
	case PV_ETEMP: return EX_TEMPFAIL;
	case PV_EDATA: return EX_DATAERR;
	case PV_ENOENT: return EX_NOINPUT;
	case PV_ENOMEM: return EX_OSERR;
	default: return EX_SOFTWARE;
	}
}

/* Environment, then .env, then powerview.yaml: a named file must exist. */
static int
load_settings(pv_settings **out, const char *env_file, const char *config)
{
	pv_err err;
	int rc = pv_settings_load(out, env_file, config, &err);

	if (rc < 0) {
		pv_error("%s", err.msg);
		return rc == PV_ENOENT ? EX_NOINPUT : rc == PV_ENOMEM ? EX_OSERR : EX_CONFIG;
	}
	return 0;
}

static int
check_settings(const pv_settings *s)
{
	pv_err err;

	if (pv_settings_check(s, &err) < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	return 0;
}

/* tsv_parser status: last ingestions, latest errors, files waiting, from the reports. */
static int
status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = NULL, *config = NULL, *env_file = NULL, *s;
	bool json = false;
	pv_settings *settings = NULL;
	cJSON *st = NULL;
	char *dir = NULL;
	pv_err err;
	int ch, status;

	while ((ch = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': data_dir = optarg; break;
		case 'j': json = true; break;
		case 'c': config = optarg; break;
		case 'e': env_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		pv_error("status: unexpected argument '%s'", argv[optind]);
		return EX_USAGE;
	}
	if ((status = load_settings(&settings, env_file, config)) != 0)
		return status;
	log_from_env();
	if (data_dir == NULL && (s = getenv("POWERVIEW_DATA_DIR")) != NULL && s[0] != '\0')
		data_dir = s;
	if (data_dir == NULL)
		data_dir = "/srv/sftpgo/data";
	if ((s = getenv("TSV_REPORT_DIR")) != NULL && s[0] != '\0')
		dir = strdup(s);
	else
		dir = pv_run_default_report_dir(data_dir);
	if (dir == NULL) {
		pv_error("status: data folder %s: %s (give -d or TSV_REPORT_DIR)", data_dir, strerror(errno));
		status = EX_NOINPUT;
	} else if (pv_status_build(&st, dir, data_dir, &err) < 0) {
		pv_error("status: %s", err.msg);
		status = EX_IOERR;
	} else {
		if (json) {
			char *text = cJSON_Print(st);
			if (text)
				printf("%s\n", text);
			free(text);
		} else
			pv_status_print(st, stdout);
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	}
	cJSON_Delete(st);
	free(dir);
	pv_settings_free(settings);
	return status;
}

/* tsv_parser config: the effective settings and where each comes from. */
static int
config_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *env_file = NULL, *output = NULL;
	bool no_verify = false;
	pv_settings *s = NULL;
	int ch, status;

	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'e': env_file = optarg; break;
		case 'o': output = optarg; break;
		case 'N': no_verify = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		pv_error("config: unexpected argument '%s'", argv[optind]);
		return EX_USAGE;
	}
	/* the run's flags, to see what they would make of the settings */
	if ((status = load_settings(&s, env_file, config)) == 0 &&
	    ((output && pv_settings_flag(s, "TSV_OUTPUT", output) < 0) ||
		(no_verify && pv_settings_flag(s, "TSV_VERIFY", "0") < 0)))
		status = EX_OSERR;
	if (status == 0 && (status = check_settings(s)) == 0) {
		pv_settings_print(s, stdout);
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	}
	pv_settings_free(s);
	return status;
}

static void
log_from_env(void)
{
	const char *s = getenv("TSV_LOG_LEVEL");
	int level;

	if (s == NULL || s[0] == '\0')
		return;
	if ((level = pv_log_level_parse(s)) < 0)
		pv_warn("unknown TSV_LOG_LEVEL '%s', using INFO", s);
	else
		pv_log_set_level((pv_log_level)level);
}

/* Fills cfg from the environment; EX_CONFIG with a message when a value is wrong. */
static int
config_from_env(pv_config *cfg)
{
	const char *s;
	pv_tz *tz;
	pv_err err;

	pv_config_defaults(cfg);
	if ((s = getenv("TSV_TIMEZONE")) != NULL && s[0] != '\0')
		cfg->timezone = s;
	if (pv_tz_open(&tz, cfg->timezone, &err) < 0) {
		pv_error("TSV_TIMEZONE: %s", err.msg);
		return EX_CONFIG;
	}
	pv_tz_free(tz);
	if ((s = getenv("TSV_CHANNEL_ID_SCHEME")) != NULL && s[0] != '\0' &&
	    pv_id_scheme_parse(&cfg->scheme, s) < 0) {
		pv_error("TSV_CHANNEL_ID_SCHEME must be 'serial' or 'compact', not '%s'", s);
		return EX_CONFIG;
	}
	if ((s = getenv("TSV_FILE_NAME_TAG")) != NULL && s[0] != '\0') {
		if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
			pv_error("TSV_FILE_NAME_TAG must be 0 or 1, not '%s'", s);
			return EX_CONFIG;
		}
		cfg->file_name_tag = s[0] == '1';
	}
	return 0;
}

/* tsv_parser token --bucket NAME [--write] [--rotate]: prints only the token. */
static int
token_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "write", no_argument, NULL, 'w' },
		{ "rotate", no_argument, NULL, 'r' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bucket = NULL, *env_file = NULL, *config = NULL;
	pv_settings *settings = NULL;
	bool write = false, rotate = false;
	pv_influx_config icfg;
	pv_err err;
	char *token = NULL;
	int ch, status;

	while ((ch = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b': bucket = optarg; break;
		case 'w': write = true; break;
		case 'r': rotate = true; break;
		case 'e': env_file = optarg; break;
		case 'c': config = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (bucket == NULL || optind < argc) {
		pv_error("token: --bucket is required, and nothing else");
		usage(stderr);
		return EX_USAGE;
	}
	if (pv_name_problem(bucket) != NULL) {
		pv_error("token: bucket name %s", pv_name_problem(bucket));
		return EX_USAGE;
	}
	if ((status = load_settings(&settings, env_file, config)) != 0)
		return status;
	status = check_settings(settings);
	pv_settings_free(settings);
	if (status != 0)
		return status;
	log_from_env();
	if (pv_influx_config_from_env(&icfg, &err) < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	int rc = pv_influx_bucket_token(&token, &icfg, bucket, write, rotate, &err);
	if (rc < 0) {
		pv_error("token for bucket %s: %s", bucket, err.msg);
		return exit_for(rc);
	}
	status = printf("%s\n", token) < 0 || fflush(stdout) == EOF ? EX_IOERR : 0;
	memset(token, 0, strlen(token));
	free(token);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "tsvFile", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = NULL, *output = NULL, *env_file = NULL, *config = NULL, *s;
	pv_settings *settings = NULL;
	bool no_verify = false;
	pv_paths files = { 0 };
	pv_passed_list passed = { 0 };
	pv_run_opts opts = { 0 };
	pv_influx_config icfg;
	pv_run_outcome out;
	pv_sink *sink = NULL;
	pv_err err = { "" };
	struct stat st;
	int ch, rc, status;

	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return token_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "config") == 0)
		return config_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "d:t:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			data_dir = optarg;
			break;
		case 't':
			if (pv_paths_add(&files, optarg) < 0) {
				pv_error("out of memory");
				return EX_OSERR;
			}
			break;
		case 'n':
			opts.dry_run = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'N':
			no_verify = true;
			break;
		case 'e':
			env_file = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			pv_paths_free(&files);
			return 0;
		case 'V':
			printf("tsv_parser %s\n", PV_VERSION);
			pv_paths_free(&files);
			return 0;
		default:
			usage(stderr);
			pv_paths_free(&files);
			return EX_USAGE;
		}
	}
	status = EX_USAGE;
	if (optind < argc)
		pv_error("unexpected argument '%s'", argv[optind]);
	else if (data_dir == NULL)
		pv_error("--dataFolder is required");
	else if (opts.dry_run && output != NULL)
		pv_error("--dry-run and --output exclude each other: a dry run writes nothing");
	else
		status = 0;
	if (status != 0) {
		usage(stderr);
		goto out;
	}
	if ((status = load_settings(&settings, env_file, config)) != 0)
		goto out;
	/* the command line wins over every other source */
	if ((output && pv_settings_flag(settings, "TSV_OUTPUT", output) < 0) ||
	    (no_verify && pv_settings_flag(settings, "TSV_VERIFY", "0") < 0)) {
		status = EX_OSERR;
		goto out;
	}
	if ((status = check_settings(settings)) != 0)
		goto out;
	log_from_env();
	if ((status = config_from_env(&opts.cfg)) != 0)
		goto out;
	opts.cfg.formats = pv_settings_formats(settings);
	if (!opts.dry_run && (s = getenv("TSV_OUTPUT")) != NULL && s[0] != '\0')
		output = s;
	opts.verify = (s = getenv("TSV_VERIFY")) == NULL || strcmp(s, "0") != 0;
	/* the database settings are checked before anything is read */
	if (!opts.dry_run && output == NULL && pv_influx_config_from_env(&icfg, &err) < 0) {
		pv_error("%s (or use --output PATH or --dry-run)", err.msg);
		status = EX_CONFIG;
		goto out;
	}

	status = EX_NOINPUT;
	if (stat(data_dir, &st) < 0) {
		pv_error("data folder %s: %s", data_dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		pv_error("data folder %s: not a folder", data_dir);
		goto out;
	}
	for (size_t i = 0; i < files.count; i++) {
		if (stat(files.items[i], &st) < 0) {
			/* one the run cannot reach (a tenant's chmod) waits there, with its reason */
			if (errno == EACCES)
				continue;
			pv_error("%s: %s", files.items[i], strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			pv_error("%s: not a regular file", files.items[i]);
			goto out;
		}
	}
	if (files.count == 0) {
		/* files still being written are left for the next run */
		double min_age = (s = getenv("TSV_MIN_AGE")) && s[0] ? strtod(s, NULL) : 10;
		size_t young = 0;
		if (pv_scan(&files, &passed, data_dir, &err) < 0) {
			pv_error("%s", err.msg);
			goto out;
		}
		pv_paths_keep_older(&files, min_age, &young);
		if (young > 0)
			pv_info("%zu files modified in the last %g s left for a later run", young, min_age);
	}
	if (files.count == 0) {
		/* nothing to run, but what the scan passed over is still said */
		pv_passed_log(&passed);
		pv_info("no TSV files found to process in %s", data_dir);
		if (!opts.dry_run) {
			status = 0;
			goto out;
		}
	}

	if (!opts.dry_run) {
		status = EX_CONFIG;
		rc = output ? pv_sink_file_open(&sink, output, &err) : pv_sink_influx_open(&sink, &icfg, &err);
		if (rc < 0) {
			pv_error("%s", err.msg);
			status = exit_for(rc);
			goto out;
		}
	}
	opts.data_dir = data_dir;
	opts.files = files.items;
	opts.nfiles = files.count;
	opts.sink = sink;
	opts.report_dir = getenv("TSV_REPORT_DIR");
	opts.passed = &passed;
	/* a dry run's report streams to standard output as the run goes */
	if (opts.dry_run)
		opts.report_stream = stdout;
	catch_signals();
	if ((rc = pv_run_files(&out, &opts, &err)) < 0) {
		pv_error("%s", err.msg);
		status = exit_for(rc);
	} else if (out.nb_pending > 0)
		status = EX_TEMPFAIL;
	else if (out.nb_error > 0)
		status = EX_DATAERR;
	else if (out.report_failed || (opts.dry_run && fflush(stdout) == EOF)) {
		if (opts.dry_run)
			pv_error("cannot print the run report");
		status = opts.dry_run ? EX_IOERR : EX_CANTCREAT;
	} else
		status = 0;
	if (pv_stop_signal() != 0) {
		/* as a shell reports a command killed by the signal: 130, 143 */
		pv_warn("run interrupted by signal %d: the files not finished stay for the next run",
		    pv_stop_signal());
		status = 128 + pv_stop_signal();
	}
	pv_run_outcome_free(&out);
out:
	pv_sink_free(sink);
	pv_paths_free(&files);
	pv_passed_free(&passed);
	pv_settings_free(settings);
	return status;
}
