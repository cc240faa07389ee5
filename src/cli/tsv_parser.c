/*
 * tsv_parser — ingest MV2 logger files into InfluxDB.
 * A thin tool over libpowerview: options, environment, exit codes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "powerview/config.h"
#include "powerview/influx.h"
#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/publish.h"
#include "powerview/windows.h"
#include "powerview/report.h"
#include "powerview/run.h"
#include "powerview/scan.h"
#include "powerview/settle.h"
#include "powerview/spool.h"
#include "powerview/status.h"
#include "powerview/timeparse.h"
#include "powerview/tz.h"

/* Option lines shared by the usages, as the man page words them. */
#define OPT_QUIET \
	"  -q, --quiet            warnings and errors only (-qq: errors only)\n" \
	"  -v, --verbose          debug messages too\n"
#define OPT_FILES \
	"      --config path      powerview.yaml (default: $POWERVIEW_CONFIG, else\n" \
	"                         /etc/powerview/powerview.yaml when it exists)\n" \
	"      --env-file path    variables file (default: ./.env when it exists)\n"
#define OPT_OUTPUT_CONFIG \
	"  -o, --output path      take -o as a run does (TSV_OUTPUT, source flag)\n" \
	"      --no-verify        take it as a run does (TSV_VERIFY=0, source flag)\n"
#define OPT_HELP \
	"  -h, --help             this help\n"

#define SYN_RUN \
	"tsv_parser -d dir [-q | -v] [-t file... | --spool] [--dry-run] [-o path]\n" \
	"                  [--no-verify] [--config path] [--env-file path]\n"
#define SYN_SPOOL \
	"tsv_parser spool -d dir [-q | -v] [--config path] [--env-file path]\n" \
	"                  file...\n"
#define SYN_TOKEN \
	"tsv_parser token --bucket name [-q | -v] [--write] [--rotate]\n" \
	"                  [--config path] [--env-file path]\n"
#define SYN_CHANNELS \
	"tsv_parser channels --bucket name | --all [-q | -v] [--dry-run]\n" \
	"                  [--config path] [--env-file path]\n"
#define SYN_CONFIG \
	"tsv_parser config [-q | -v] [--config path] [--env-file path] [-o path]\n" \
	"                  [--no-verify] [--get [-z] name... | --exec program [arg...]]\n"
#define SYN_DOWNSAMPLE \
	"tsv_parser downsample -d dir [-q | -v] [-b name] [--start T] [--end T]\n" \
	"                  [--config path] [--env-file path]\n"
#define SYN_STATUS \
	"tsv_parser status [-q | -v] [-d dir] [--json] [--config path]\n" \
	"                  [--env-file path]\n"

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

static void
usage_token(FILE *fp)
{
	fputs("usage: " SYN_TOKEN
	    "\n"
	    "Prints the token that reads bucket name and its downsampled buckets\n"
	    "name_1h, name_1d, name_1w only (with --write: reads and writes name only),\n"
	    "creating buckets and token when missing. InfluxDB 1.x (INFLUXDB_API=v1):\n"
	    "prints the password of user name_read (READ on database name; --write:\n"
	    "name_write, ALL on it), made once; later calls need --rotate.\n"
	    "\n"
	    "  -b, --bucket name      the bucket (required)\n"
	    "      --write            read and write permission, not read only\n"
	    "      --rotate           replace the existing token: the old one stops working\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 printed, 64 usage, 66 missing file, 74 not printed,\n"
	    "  75 server unavailable, 78 configuration\n",
	    fp);
}

static void
usage_channels(FILE *fp)
{
	fputs("usage: " SYN_CHANNELS
	    "\n"
	    "Publishes the channels stored in bucket name (database with INFLUXDB_API=v1)\n"
	    "to the configuration service, as runs do after each file: one POST\n"
	    "CONFIG_API_URL/buckets/name/channels per campaign (VictoriaMetrics: label db).\n"
	    "\n"
	    "  -b, --bucket name      the bucket\n"
	    "      --all              every company's bucket instead (not _*, *_1h, *_1d,\n"
	    "                         *_1w, TSV_META_BUCKET)\n"
	    "  -n, --dry-run          print the bodies (JSON, one a line; with --all,\n"
	    "                         {\"bucket\": ..., \"body\": ...}); send nothing\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 published, 64 usage, 66 no such bucket or missing file,\n"
	    "  69 a campaign not published (the others still tried), 75 database\n"
	    "  unavailable, 78 configuration (CONFIG_API_URL unset)\n",
	    fp);
}

static void
usage_spool(FILE *fp)
{
	fputs("usage: " SYN_SPOOL
	    "\n"
	    "Copies each file, which must lie below dir, into the spool folder\n"
	    "(TSV_SPOOL_DIR, default dir/../spool) and returns once the copies are\n"
	    "durable; 'tsv_parser --spool -d dir' ingests them. Nothing is sent.\n"
	    "\n"
	    "  -d, --data-folder dir  the data folder (required); also --dataFolder\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 spooled (now or before), 64 usage, 65 not a file the parser takes,\n"
	    "  66 missing file, 73 the spool cannot be written, 75 a file changed while\n"
	    "  it was copied, 78 configuration\n",
	    fp);
}

static void
usage_config(FILE *fp)
{
	fputs("usage: " SYN_CONFIG
	    "\n"
	    "Prints every setting, its value in effect and its source (secrets masked),\n"
	    "then the known formats.\n"
	    "\n"
	    "      --get              print only the value in effect of each name, one a\n"
	    "                         line (empty: unset); a name is a variable\n"
	    "                         (POWERVIEW_DATA_DIR) or a key (hook.data_dir); a\n"
	    "                         secret is refused, its *_file key gives the path\n"
	    "  -z                     with --get: each value ends with NUL, not newline\n"
	    "      --exec program     run program (found in PATH) with its arguments, the\n"
	    "                         settings read (environment, .env, YAML) in its\n"
	    "                         environment: a secret is passed, never printed\n"
	    OPT_OUTPUT_CONFIG OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 printed, 64 usage (an unknown name, a secret), 66 missing file,\n"
	    "  69 program not run, 74 not printed, 78 configuration; with --exec, the\n"
	    "  program's\n",
	    fp);
}

static void
usage_status(FILE *fp)
{
	fputs("usage: " SYN_STATUS
	    "\n"
	    "Prints what the run reports say and what still waits in the data folder.\n"
	    "\n"
	    "  -d, --data-folder dir  data folder (default: $POWERVIEW_DATA_DIR, else\n"
	    "                         /srv/sftpgo/data); also --dataFolder\n"
	    "      --json             one JSON object instead of the table\n"
	    OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 printed, 64 usage, 66 no data folder or missing file,\n"
	    "  74 cannot read or print, 78 configuration\n",
	    fp);
}

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

/*
 * A usage error: one line saying what is wrong (none when getopt said it),
 * one saying where to look; exit 64.
 */
static int
usage_error(const char *cmd, const char *fmt, ...)
{
	const char *sep = cmd ? " " : "";
	va_list ap;

	if (cmd == NULL)
		cmd = "";
	if (fmt != NULL) {
		fprintf(stderr, "tsv_parser%s%s: ", sep, cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "try 'tsv_parser%s%s --help'\n", sep, cmd);
	return EX_USAGE;
}

/* -q and -v, counted: the log level they ask for, or -1 when neither was given. */
static int
verbosity(int quiet, int verbose)
{
	int level = PV_LOG_INFO + quiet - verbose;

	if (quiet == 0 && verbose == 0)
		return -1;
	return level < PV_LOG_DEBUG ? PV_LOG_DEBUG : level > PV_LOG_ERROR ? PV_LOG_ERROR : level;
}

/* The command line wins over every other source: -o, --no-verify, -q and -v. */
static int
apply_flags(pv_settings *s, const char *output, bool no_verify, int level)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };

	if ((output && pv_settings_flag(s, "TSV_OUTPUT", output) < 0) ||
	    (no_verify && pv_settings_flag(s, "TSV_VERIFY", "0") < 0) ||
	    (level >= 0 && pv_settings_flag(s, "TSV_LOG_LEVEL", names[level]) < 0)) {
		pv_error("out of memory");
		return EX_OSERR;
	}
	return 0;
}

static pv_log_level log_from_env(void);

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

/* The spool folder of a data folder: TSV_SPOOL_DIR, else <data folder>/../spool. */
static char *
spool_dir_of(const char *data_dir)
{
	const char *s = getenv("TSV_SPOOL_DIR");

	return s != NULL && s[0] != '\0' ? strdup(s) : pv_spool_default_dir(data_dir);
}

/* The spool's part of the status: what waits there, the worker's last run. */
static int
add_spool(cJSON *st, const char *data_dir, pv_err *err)
{
	char *dir = spool_dir_of(data_dir);
	cJSON *sp = NULL;
	int rc;

	if (dir == NULL)
		return 0; /* no data folder: said already */
	/* a spool this user may not read (mode 0700) is said, the rest still shown */
	if ((rc = pv_spool_stats(&sp, dir, err)) < 0 && (sp = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(sp, "dir", dir);
		cJSON_AddStringToObject(sp, "error", err->msg);
	}
	free(dir);
	if (sp == NULL)
		return EX_OSERR;
	cJSON_AddItemToObject(st, "spool", sp);
	return 0;
}

/* tsv_parser status: last ingestions, latest errors, files waiting, from the reports. */
static int
status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-folder", required_argument, NULL, 'd' },
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
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
	int ch, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': data_dir = optarg; break;
		case 'j': json = true; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'c': config = optarg; break;
		case 'e': env_file = optarg; break;
		case 'h': usage_status(stdout); return 0;
		default: return usage_error("status", NULL);
		}
	}
	if (optind < argc)
		return usage_error("status", "unexpected argument '%s'", argv[optind]);
	if ((status = load_settings(&settings, env_file, config)) != 0 ||
	    (status = apply_flags(settings, NULL, false, verbosity(quiet, verbose))) != 0) {
		pv_settings_free(settings);
		return status;
	}
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
	} else if (pv_status_build(&st, dir, data_dir, &err) < 0 ||
	    (status = add_spool(st, data_dir, &err)) != 0) {
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
		{ "get", no_argument, NULL, 'g' },
		{ "exec", no_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *env_file = NULL, *output = NULL;
	bool no_verify = false, get = false, nul = false, run = false;
	pv_settings *s = NULL;
	pv_err err;
	int ch, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "o:qvzh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'e': env_file = optarg; break;
		case 'o': output = optarg; break;
		case 'N': no_verify = true; break;
		case 'g': get = true; break;
		case 'x': run = true; break;
		case 'z': nul = true; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'h': usage_config(stdout); return 0;
		default: return usage_error("config", NULL);
		}
	}
	if (get && run)
		return usage_error("config", "--get and --exec do not go together");
	if (run && optind == argc)
		return usage_error("config", "--exec needs a program");
	if (!get && !run && optind < argc)
		return usage_error("config", "unexpected argument '%s'", argv[optind]);
	if (nul && !get)
		return usage_error("config", "-z goes with --get");
	if (get && optind == argc)
		return usage_error("config", "--get needs at least one name");
	/* names first: nothing is read for a command that cannot be answered */
	for (int i = optind; get && i < argc; i++) {
		int k = pv_settings_lookup(argv[i]);
		if (k == PV_GET_SECRET)
			return usage_error("config",
			    "%s is a secret: never printed (its *_file key gives the file's path)", argv[i]);
		if (k == PV_GET_UNKNOWN)
			return usage_error("config",
			    "unknown setting '%s' (a variable or section.key, as 'tsv_parser config' lists them)",
			    argv[i]);
	}
	/* the run's flags, to see what they would make of the settings */
	if ((status = load_settings(&s, env_file, config)) == 0)
		status = apply_flags(s, output, no_verify, verbosity(quiet, verbose));
	if (status == 0 && run) {
		/* the settings are in this process's environment now: hand them on */
		pv_settings_free(s);
		fflush(NULL);
		execvp(argv[optind], argv + optind);
		pv_error("cannot run %s: %s", argv[optind], strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (status == 0 && get) {
		/* values, not their checks: a wrong TSV_* value is the run's to refuse */
		for (int i = optind; i < argc; i++)
			printf("%s%c", pv_settings_get(s, pv_settings_lookup(argv[i])), nul ? '\0' : '\n');
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	} else if (status == 0 && (status = check_settings(s)) == 0) {
		if (pv_settings_check_foreign(s, &err) < 0)
			pv_warn("%s (tsv_parser does not use it; the hook or the playbooks refuse it)", err.msg);
		pv_settings_print(s, stdout);
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	}
	pv_settings_free(s);
	return status;
}

/* Sets the log level from TSV_LOG_LEVEL; returns the level in effect. */
static pv_log_level
log_from_env(void)
{
	const char *s = getenv("TSV_LOG_LEVEL");
	int level;

	if (s == NULL || s[0] == '\0')
		return PV_LOG_INFO;
	if ((level = pv_log_level_parse(s)) < 0) {
		pv_warn("unknown TSV_LOG_LEVEL '%s', using INFO", s);
		return PV_LOG_INFO;
	}
	pv_log_set_level((pv_log_level)level);
	return (pv_log_level)level;
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

/*
 * The settings of a command that needs nothing from them but the
 * environment they fill: loaded, -q and -v applied, checked, the log level
 * set. 0, or the exit status.
 */
static int
command_settings(const char *env_file, const char *config, int quiet, int verbose)
{
	pv_settings *settings = NULL;
	int status;

	if ((status = load_settings(&settings, env_file, config)) != 0)
		return status;
	if ((status = apply_flags(settings, NULL, false, verbosity(quiet, verbose))) == 0)
		status = check_settings(settings);
	pv_settings_free(settings);
	if (status == 0)
		log_from_env();
	return status;
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
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bucket = NULL, *env_file = NULL, *config = NULL;
	bool write = false, rotate = false;
	pv_influx_config icfg;
	pv_err err;
	char *token = NULL;
	int ch, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "b:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b': bucket = optarg; break;
		case 'w': write = true; break;
		case 'r': rotate = true; break;
		case 'e': env_file = optarg; break;
		case 'c': config = optarg; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'h': usage_token(stdout); return 0;
		default: return usage_error("token", NULL);
		}
	}
	if (optind < argc)
		return usage_error("token", "unexpected argument '%s'", argv[optind]);
	if (bucket == NULL)
		return usage_error("token", "--bucket is required");
	if (pv_name_problem(bucket) != NULL)
		return usage_error("token", "bucket name %s", pv_name_problem(bucket));
	if ((status = command_settings(env_file, config, quiet, verbose)) != 0)
		return status;
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

/*
 * Publishes each campaign of the set: one body per campaign, printed (dry
 * run) or posted. A failed POST is said and the next campaign still tried,
 * through a fresh publisher (one that gave up sends nothing more).
 */
static int
channels_publish(const pv_known *k, const char *bucket, const char *url, bool dry_run, bool all)
{
	pv_publisher *pub = NULL;
	size_t next, sent = 0, failed = 0, nchannels = 0;
	pv_err err;
	int status = 0;

	for (size_t i = 0; i < k->count; i = next) {
		cJSON *body = pv_publish_known_body(k, i, &next), *line = NULL;
		char *text = body ? cJSON_PrintUnformatted(body) : NULL;
		const char *campaign = k->items[i].campaign;

		/* a dry run of --all says each body's bucket: {"bucket": ..., "body": ...} */
		if (dry_run && all && text != NULL && (line = cJSON_CreateObject()) != NULL) {
			cJSON_AddItemToObject(line, "bucket", pv_json_string(bucket));
			cJSON_AddItemToObject(line, "body", body);
			body = line;
			free(text);
			text = cJSON_PrintUnformatted(line);
		}
		cJSON_Delete(body);
		if (text == NULL) {
			pv_error("out of memory");
			return EX_OSERR;
		}
		if (dry_run) {
			printf("%s\n", text);
		} else if ((pub == NULL && pv_publisher_open(&pub, url, &err) < 0) ||
		    pv_publish_post(pub, bucket, text, &err) < 0) {
			pv_error("bucket %s, campaign '%s': channels not published to the config API: %s",
			    bucket, campaign, err.msg);
			pv_publisher_close(pub);
			pub = NULL;
			failed++;
			status = EX_UNAVAILABLE;
		} else {
			pv_info("bucket %s, campaign '%s': %zu channels published", bucket, campaign, next - i);
			sent++;
			nchannels += next - i;
		}
		free(text);
	}
	pv_publisher_close(pub);
	if (dry_run)
		return fflush(stdout) == EOF ? EX_IOERR : 0;
	pv_info("bucket %s: %zu channels of %zu campaigns published, %zu campaigns failed", bucket,
	    nchannels, sent, failed);
	return status;
}

/* One bucket's channels read and published; 0 or the exit status. */
static int
channels_bucket(const pv_influx_config *icfg, const char *bucket, const char *url, bool dry_run, bool all)
{
	pv_known k = { 0 };
	pv_err err;
	int rc, status;

	if ((rc = pv_influx_known_channels(&k, icfg, bucket, &err)) < 0) {
		pv_error("channels of bucket %s: %s", bucket, err.msg);
		pv_known_free(&k);
		return exit_for(rc);
	}
	pv_known_sort(&k);
	if (k.count == 0)
		pv_info("bucket %s: no channel with a unit stored: nothing to publish", bucket);
	status = channels_publish(&k, bucket, url, dry_run, all);
	pv_known_free(&k);
	return status;
}

/*
 * tsv_parser channels --bucket NAME | --all [--dry-run]: v0.4.1's
 * backfill_known_channels. With --all, a bucket that fails is said and the
 * next one still done; the exit status is the first failure's.
 */
static int
channels_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bucket = NULL, *env_file = NULL, *config = NULL, *url;
	pv_influx_config icfg;
	bool dry_run = false, all = false;
	char **names = NULL;
	size_t n = 0;
	pv_err err;
	int ch, rc, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "b:nqvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b': bucket = optarg; break;
		case 'a': all = true; break;
		case 'n': dry_run = true; break;
		case 'e': env_file = optarg; break;
		case 'c': config = optarg; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'h': usage_channels(stdout); return 0;
		default: return usage_error("channels", NULL);
		}
	}
	if (optind < argc)
		return usage_error("channels", "unexpected argument '%s'", argv[optind]);
	if ((bucket == NULL) == !all)
		return usage_error("channels", all ? "--bucket or --all, not both" : "--bucket (or --all) is required");
	if (bucket != NULL && pv_name_problem(bucket) != NULL)
		return usage_error("channels", "bucket name %s", pv_name_problem(bucket));
	if ((status = command_settings(env_file, config, quiet, verbose)) != 0)
		return status;
	url = getenv("CONFIG_API_URL");
	if (!dry_run && (url == NULL || url[0] == '\0')) {
		pv_error("channels: CONFIG_API_URL (config_api.url) is not set: nowhere to publish "
		    "(--dry-run prints the bodies)");
		return EX_CONFIG;
	}
	if (pv_influx_config_from_env(&icfg, &err) < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	if (!all)
		return channels_bucket(&icfg, bucket, url, dry_run, false);
	if ((rc = pv_influx_raw_buckets(&names, &n, &icfg, &err)) < 0) {
		pv_error("channels: the buckets: %s", err.msg);
		return exit_for(rc);
	}
	pv_info("%zu buckets: %s", n, n == 0 ? "nothing to publish" : "each one's channels in turn");
	for (size_t i = 0; i < n; i++) {
		int one = channels_bucket(&icfg, names[i], url, dry_run, true);
		if (status == 0)
			status = one;
		free(names[i]);
	}
	free(names);
	return status;
}

/* Opens the spool of a data folder; an exit status on failure. */
static int
spool_open(pv_spool **sp, const char *data_dir)
{
	char *dir = spool_dir_of(data_dir);
	pv_err err;
	int rc;

	*sp = NULL;
	if (dir == NULL) {
		pv_error("data folder %s: %s", data_dir, strerror(errno));
		return EX_NOINPUT;
	}
	rc = pv_spool_open(sp, dir, data_dir, &err);
	free(dir);
	if (rc < 0) {
		pv_error("%s", err.msg);
		return rc == PV_ECONFIG ? EX_CONFIG : rc == PV_ENOENT ? EX_NOINPUT :
		    rc == PV_ENOMEM ? EX_OSERR : EX_CANTCREAT;
	}
	return 0;
}

/* What a file's spooling means for the exit status; the worse of two wins. */
static int
spool_exit(int status, pv_spooled how)
{
	static const int rank[] = { 0, EX_DATAERR, EX_NOINPUT, EX_TEMPFAIL, EX_CANTCREAT };
	int mine = how == PV_SPOOL_REFUSED ? EX_DATAERR :
	    how == PV_SPOOL_GONE || how == PV_SPOOL_UNREADABLE ? EX_NOINPUT :
	    how == PV_SPOOL_CHANGED ? EX_TEMPFAIL : how == PV_SPOOL_FAILED ? EX_CANTCREAT : 0;
	size_t a = 0, b = 0;

	for (size_t i = 0; i < sizeof(rank) / sizeof(rank[0]); i++) {
		if (rank[i] == status)
			a = i;
		if (rank[i] == mine)
			b = i;
	}
	return b > a ? mine : status;
}

/* One file into the spool, said in the log. */
static pv_spooled
spool_one(pv_spool *sp, const char *file, pv_log_level level, pv_err *err)
{
	pv_spooled how;
	char *copy = NULL;

	pv_spool_add(sp, &how, &copy, file, err);
	if (how == PV_SPOOL_COPIED)
		pv_log(level, "%s: spooled as %s/%s", file, pv_spool_dir(sp), copy ? copy : "?");
	else if (how == PV_SPOOL_ALREADY)
		pv_log(level, "%s: already spooled (same device, inode, size and modification time)", file);
	free(copy);
	return how;
}

/* tsv_parser spool -d DIR FILE...: each file copied into the spool, durably. */
static int
spool_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-folder", required_argument, NULL, 'd' },
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "config", required_argument, NULL, 'c' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = NULL, *config = NULL, *env_file = NULL;
	pv_settings *settings = NULL;
	pv_spool *sp = NULL;
	struct stat st;
	int ch, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "d:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': data_dir = optarg; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'c': config = optarg; break;
		case 'e': env_file = optarg; break;
		case 'h': usage_spool(stdout); return 0;
		default: return usage_error("spool", NULL);
		}
	}
	if (data_dir == NULL)
		return usage_error("spool", "-d (--data-folder) is required");
	if (optind == argc)
		return usage_error("spool", "no file to spool");
	if ((status = load_settings(&settings, env_file, config)) != 0 ||
	    (status = apply_flags(settings, NULL, false, verbosity(quiet, verbose))) != 0 ||
	    (status = check_settings(settings)) != 0)
		goto out;
	log_from_env();
	if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pv_error("data folder %s: %s", data_dir, errno ? strerror(errno) : "not a folder");
		status = EX_NOINPUT;
		goto out;
	}
	if ((status = spool_open(&sp, data_dir)) != 0)
		goto out;
	for (int i = optind; i < argc; i++) {
		pv_err err = { "" };
		pv_spooled how = spool_one(sp, argv[i], PV_LOG_INFO, &err);
		if (how != PV_SPOOL_COPIED && how != PV_SPOOL_ALREADY)
			pv_log(how == PV_SPOOL_FAILED ? PV_LOG_ERROR : PV_LOG_WARNING, "%s", err.msg);
		status = spool_exit(status, how);
	}
out:
	pv_spool_free(sp);
	pv_settings_free(settings);
	return status;
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
		pv_spooled how = spool_one(sp, path, PV_LOG_DEBUG, &err);
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

/* The progress line of a run on a terminal: at most ten updates a second. */
typedef struct progress {
	struct timespec last;   /* when it was last drawn */
	bool drawn;
	int width;              /* the terminal's columns */
} progress;

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
	progress *p = arg;
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
	if ((int)strlen(line) >= p->width)
		line[p->width - 1] = '\0';
	pv_log_status(line);
}

/*
 * A progress line only on a terminal of its own (not when the run writes to
 * standard output, the same terminal: -o -, a dry run's report), and at INFO
 * or below: never in a log file, never with -q.
 */
static bool
progress_start(progress *p, pv_log_level level, bool writes_stdout)
{
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	if (level > PV_LOG_INFO || !isatty(STDERR_FILENO) || (writes_stdout && isatty(STDOUT_FILENO)))
		return false;
	p->width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col : 80;
	if (p->width > 256)
		p->width = 256;
	return true;
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

/* ---- tsv_parser downsample: the backfill ---- */

#define DS_BUCKETS_MAX 100000   /* company folders taken from a data folder */
#define DS_STATE_MAX (64 * 1024) /* a state file longer than this is not ours */
#define DS_STATE_NAME "downsample-state.json"
#define DS_STATE_KIND "tsv_parser downsample state 1"

/* What a backfill is: its arguments, the state file's identity. */
typedef struct ds_job {
	const char *data;        /* realpath of -d */
	const char *bucket_arg;  /* --bucket, or NULL: every company folder */
	const char *start_arg, *end_arg;
	char levels[32];         /* the levels, "1h,1d,1w" */
	char *state_path;        /* NULL: not resumable */
	bool state_warned;       /* a state could not be written: said once */
	/* where a previous run stopped (valid: a state of the same job was read) */
	bool resume;
	char *r_bucket;
	pv_level r_level;
	int64_t r_start, r_end, r_done;
} ds_job;

/* `T`: RFC 3339, or YYYY-MM-DD (local midnight in tz; tz NULL: syntax only). */
static int
ds_time(const char *s, pv_tz *tz, int64_t *ns)
{
	pv_window w;
	pv_err err;
	int64_t wall;

	if (pv_rfc3339_parse(s, ns) == 0)
		return 0;
	if (pv_date_parse(s, &wall) < 0)
		return -1;
	if (tz == NULL)
		return 0;
	/* the local day's window starts at its midnight (at the change when midnight is skipped) */
	wall += 43200;
	if (pv_window_at(tz, PV_LEVEL_1D, (wall - pv_tz_offset(tz, wall)) * 1000000000LL, &w, &err) < 0)
		return -1;
	*ns = w.start;
	return 0;
}

/* The local date of instant t (ns): "2026-01-31". */
static void
ds_date(char out[16], pv_tz *tz, int64_t t)
{
	int64_t s = t / 1000000000LL - (t % 1000000000LL < 0);
	time_t wall = (time_t)(s + pv_tz_offset(tz, s));
	struct tm tm;

	if (gmtime_r(&wall, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "?");
}

static int
ds_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The company folders directly under data whose name the run takes, sorted. */
static int
ds_buckets(pv_paths *out, const char *data)
{
	DIR *d = opendir(data);
	struct dirent *e;
	struct stat st;
	char *path;

	if (d == NULL) {
		pv_error("data folder %s: %s", data, strerror(errno));
		return EX_NOINPUT;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || pv_name_problem(e->d_name) != NULL)
			continue;
		if (asprintf(&path, "%s/%s", data, e->d_name) < 0) {
			closedir(d);
			return EX_OSERR;
		}
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (out->count == DS_BUCKETS_MAX) {
				pv_error("data folder %s: more than %d company folders", data, DS_BUCKETS_MAX);
				free(path);
				closedir(d);
				return EX_DATAERR;
			}
			if (pv_paths_add(out, e->d_name) < 0) {
				free(path);
				closedir(d);
				return EX_OSERR;
			}
		}
		free(path);
	}
	closedir(d);
	if (out->count > 1)
		qsort(out->items, out->count, sizeof(out->items[0]), ds_cmp);
	return 0;
}

static bool
ds_same(const char *a, const cJSON *b)
{
	return a == NULL ? cJSON_IsNull(b) : cJSON_IsString(b) && strcmp(a, b->valuestring) == 0;
}

static bool
ds_number(const cJSON *o, const char *name, int64_t *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;

	if (!cJSON_IsString(j))
		return false;
	errno = 0;
	*v = strtoll(j->valuestring, &end, 10);
	return errno == 0 && end != j->valuestring && *end == '\0';
}

/*
 * Reads the state file: a regular file, not a link, at most DS_STATE_MAX
 * bytes, of this job (same data folder, arguments and levels). Anything
 * else is ignored with a warning (it is replaced by this run's).
 */
static void
ds_state_read(ds_job *j)
{
	char buf[DS_STATE_MAX + 1];
	struct stat st;
	cJSON *o = NULL;
	const cJSON *b, *lv;
	ssize_t n;
	int fd;

	if (j->state_path == NULL)
		return;
	if ((fd = open(j->state_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			pv_warn("downsample state %s: %s: ignored", j->state_path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DS_STATE_MAX ||
	    (n = read(fd, buf, DS_STATE_MAX + 1)) < 0 || n > DS_STATE_MAX) {
		pv_warn("downsample state %s: not a state file (a regular file of at most %d bytes): ignored",
		    j->state_path, DS_STATE_MAX);
		close(fd);
		return;
	}
	close(fd);
	buf[n] = '\0';
	o = cJSON_ParseWithLength(buf, (size_t)n);
	b = cJSON_GetObjectItemCaseSensitive(o, "bucket");
	lv = cJSON_GetObjectItemCaseSensitive(o, "level");
	if (!cJSON_IsObject(o) || !ds_same(DS_STATE_KIND, cJSON_GetObjectItemCaseSensitive(o, "kind")) ||
	    !cJSON_IsString(b) || !cJSON_IsString(lv) || pv_level_parse(lv->valuestring, &j->r_level, NULL) < 0 ||
	    !ds_number(o, "start", &j->r_start) || !ds_number(o, "end", &j->r_end) ||
	    !ds_number(o, "done", &j->r_done) || j->r_start > j->r_done ||
	    pv_name_problem(b->valuestring) != NULL) {
		pv_warn("downsample state %s: malformed: ignored", j->state_path);
	} else if (!ds_same(j->data, cJSON_GetObjectItemCaseSensitive(o, "data")) ||
	    !ds_same(j->bucket_arg, cJSON_GetObjectItemCaseSensitive(o, "bucket_arg")) ||
	    !ds_same(j->start_arg, cJSON_GetObjectItemCaseSensitive(o, "start_arg")) ||
	    !ds_same(j->end_arg, cJSON_GetObjectItemCaseSensitive(o, "end_arg")) ||
	    !ds_same(j->levels, cJSON_GetObjectItemCaseSensitive(o, "levels"))) {
		pv_warn("downsample state %s: another backfill's (other data folder, --bucket, --start, --end "
		    "or levels): ignored, this one starts from the beginning", j->state_path);
	} else if ((j->r_bucket = strdup(b->valuestring)) != NULL)
		j->resume = true;
	cJSON_Delete(o);
}

static cJSON *
ds_add_arg(cJSON *o, const char *name, const char *v)
{
	return v ? cJSON_AddStringToObject(o, name, v) : cJSON_AddNullToObject(o, name);
}

/* Writes the state atomically (temporary file, fsync, rename, fsync of the folder), mode 0600. */
static int
ds_state_write(ds_job *j, const char *bucket, pv_level level, int64_t start, int64_t end, int64_t done)
{
	char num[3][24], *tmp = NULL, *text = NULL, *slash;
	cJSON *o = cJSON_CreateObject();
	int fd = -1, rc = -1;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, start);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, end);
	snprintf(num[2], sizeof(num[2]), "%" PRId64, done);
	if (o == NULL || !cJSON_AddStringToObject(o, "kind", DS_STATE_KIND) ||
	    !cJSON_AddStringToObject(o, "data", j->data) || !ds_add_arg(o, "bucket_arg", j->bucket_arg) ||
	    !ds_add_arg(o, "start_arg", j->start_arg) || !ds_add_arg(o, "end_arg", j->end_arg) ||
	    !cJSON_AddStringToObject(o, "levels", j->levels) || !cJSON_AddStringToObject(o, "bucket", bucket) ||
	    !cJSON_AddStringToObject(o, "level", pv_level_name(level)) ||
	    !cJSON_AddStringToObject(o, "start", num[0]) || !cJSON_AddStringToObject(o, "end", num[1]) ||
	    !cJSON_AddStringToObject(o, "done", num[2]) || (text = cJSON_Print(o)) == NULL ||
	    asprintf(&tmp, "%s.%ld.tmp", j->state_path, (long)getpid()) < 0) {
		tmp = NULL;
		errno = ENOMEM;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		goto out;
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, j->state_path) < 0)
		goto out;
	free(tmp);
	tmp = NULL;
	/* the folder's entry too */
	if ((slash = strrchr(j->state_path, '/')) != NULL) {
		*slash = '\0';
		if ((fd = open(j->state_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
			fsync(fd);
		*slash = '/';
	}
	rc = 0;
out:
	if (rc < 0 && !j->state_warned) {
		pv_warn("downsample state %s: cannot write it: %s (an interrupted backfill starts over)",
		    j->state_path, strerror(errno));
		j->state_warned = true;
	}
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	cJSON_Delete(o);
	free(text);
	return rc;
}

/* The exit status of a failed chunk or lookup: a dead server 75, a refused query 78 or 65. */
static int
ds_exit(int rc)
{
	return rc == PV_ENOENT ? EX_NOINPUT : exit_for(rc);
}

/*
 * One level of one bucket over [tmin, tmax], chunk by chunk through the
 * sink's downsample op, the state saved after each; from `from` on.
 */
static int
ds_level(ds_job *j, pv_sink *sink, pv_tz *tz, const char *bucket, pv_level level, int64_t tmin,
    int64_t tmax, int64_t from, progress *bar, uint64_t *written)
{
	size_t max = pv_downsample_chunk_max(level, tz), chunk = 0, total;
	int64_t lvs = level == PV_LEVEL_1H ? 3600 : level == PV_LEVEL_1D ? 86400 : 7 * 86400;
	bool more = from <= tmax;
	char a[16], b[16];
	pv_err err;

	/* chunks are counted from the range's start: a resumed run shows where it is */
	total = (size_t)((tmax - tmin) / 1000000000LL / lvs / (int64_t)max) + 1;
	chunk = (size_t)((from - tmin) / 1000000000LL / lvs / (int64_t)max);
	*written = 0;
	while (more) {
		pv_downsample_figure fig = { 0 };
		pv_window *w = NULL;
		size_t n = 0;
		int rc;

		if ((rc = pv_windows_chunk(tz, level, from, tmax, max, &w, &n, &more, &err)) < 0) {
			pv_error("downsample %s %s: %s", bucket, pv_level_name(level), err.msg);
			return ds_exit(rc);
		}
		chunk++;
		if (chunk > total)
			total = chunk;
		if (bar != NULL) {
			char line[256];
			ds_date(a, tz, w[0].start);
			ds_date(b, tz, w[n - 1].end - 1);
			snprintf(line, sizeof(line), "downsample: %s %s %s .. %s, %zu/%zu chunks", bucket,
			    pv_level_name(level), a, b, chunk, total);
			if ((int)strlen(line) >= bar->width)
				line[bar->width - 1] = '\0';
			pv_log_status(line);
		}
		pv_debug("downsample %s %s: chunk %zu, %zu windows from %" PRId64, bucket, pv_level_name(level),
		    chunk, n, w[0].start);
		rc = sink->ops->downsample(sink, bucket, w[0].start, w[n - 1].end - 1, tz, &level, 1, &fig, &err);
		from = w[n - 1].end;
		free(w);
		if (rc < 0) {
			pv_log_status(NULL);
			pv_error("downsample %s %s: %s", bucket, pv_level_name(level), err.msg);
			return ds_exit(rc);
		}
		if (fig.n == 1)
			*written += fig.windows[0];
		if (j->state_path != NULL)
			ds_state_write(j, bucket, level, tmin, tmax, from);
		if (more && pv_stop_signal() != 0) {
			pv_log_status(NULL);
			ds_date(a, tz, from - 1);
			pv_warn("downsample interrupted by signal %d: %s %s done up to %s; "
			    "the same command resumes there", pv_stop_signal(), bucket, pv_level_name(level), a);
			return EX_TEMPFAIL;
		}
	}
	pv_log_status(NULL);
	return 0;
}

/* One bucket: its range, then each level; 0, or the exit status that stops the backfill. */
static int
ds_bucket(ds_job *j, pv_sink *sink, pv_tz *tz, const char *bucket, const pv_level *levels, size_t nlevels,
    const int64_t *start, const int64_t *end, progress *bar, bool *missing)
{
	int64_t first = 0, last = 0, tmin, tmax;
	size_t k = 0;
	char a[16], b[16];
	pv_err err;
	int rc;

	if (j->resume && strcmp(bucket, j->r_bucket) < 0) {
		pv_info("downsample %s: done by the interrupted run", bucket);
		return 0;
	}
	if ((rc = pv_sink_influx_span(sink, bucket, &first, &last, &err)) == PV_ENOENT) {
		pv_error("downsample %s: %s: skipped", bucket, err.msg);
		*missing = true;
		return 0;
	}
	if (rc < 0) {
		pv_error("downsample %s: %s", bucket, err.msg);
		return ds_exit(rc);
	}
	if (rc == 0) {
		pv_info("downsample %s: nothing stored, nothing to downsample", bucket);
		return 0;
	}
	tmin = start ? *start : first;
	tmax = end ? *end - 1 : last;
	if (tmin > tmax) {
		pv_info("downsample %s: no point in the range, nothing to downsample", bucket);
		return 0;
	}
	if (j->resume && strcmp(bucket, j->r_bucket) == 0) {
		while (k < nlevels && levels[k] != j->r_level)
			k++;
		if (k == nlevels || j->r_start != tmin || j->r_end != tmax) {
			pv_warn("downsample %s: the interrupted run's range or levels differ (new data?): "
			    "starting from the beginning", bucket);
			k = 0;
			j->resume = false;
		}
	} else
		j->resume = false;
	for (size_t i = 0; i < nlevels; i++) {
		int64_t from = tmin;
		uint64_t written = 0;

		if (i < k)
			continue;
		if (j->resume && i == k) {
			from = j->r_done;
			j->resume = false;
			ds_date(a, tz, from);
			pv_info("downsample %s %s: resuming at %s, where the interrupted run stopped", bucket,
			    pv_level_name(levels[i]), a);
		}
		if ((rc = ds_level(j, sink, tz, bucket, levels[i], tmin, tmax, from, bar, &written)) != 0)
			return rc;
		ds_date(a, tz, tmin);
		ds_date(b, tz, tmax);
		pv_info("downsample %s %s: %" PRIu64 " windows written (%s .. %s)", bucket,
		    pv_level_name(levels[i]), written, a, b);
	}
	return 0;
}

/* tsv_parser downsample -d DATA [--bucket B] [--start T] [--end T]: the backfill. */
static int
downsample_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-folder", required_argument, NULL, 'd' },
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'E' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *env_file = NULL, *config = NULL, *s;
	ds_job job = { 0 };
	pv_settings *settings = NULL;
	pv_paths buckets = { 0 };
	pv_level levels[PV_LEVELS_MAX];
	size_t nlevels = 0;
	int64_t start = 0, end = 0;
	pv_influx_config icfg;
	pv_config cfg;
	pv_sink *sink = NULL;
	pv_tz *tz = NULL;
	pv_log_level level;
	progress bar;
	char *real = NULL, *dir = NULL;
	bool missing = false;
	struct stat st;
	pv_err err;
	int ch, status, quiet = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "d:b:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': data = optarg; break;
		case 'b': job.bucket_arg = optarg; break;
		case 's': job.start_arg = optarg; break;
		case 'E': job.end_arg = optarg; break;
		case 'e': env_file = optarg; break;
		case 'c': config = optarg; break;
		case 'q': quiet++; break;
		case 'v': verbose++; break;
		case 'h': usage_downsample(stdout); return 0;
		default: return usage_error("downsample", NULL);
		}
	}
	if (optind < argc)
		return usage_error("downsample", "unexpected argument '%s'", argv[optind]);
	if (data == NULL)
		return usage_error("downsample", "-d (--data-folder) is required");
	if (job.bucket_arg != NULL && pv_name_problem(job.bucket_arg) != NULL)
		return usage_error("downsample", "bucket name %s", pv_name_problem(job.bucket_arg));
	if (job.start_arg != NULL && ds_time(job.start_arg, NULL, &start) < 0)
		return usage_error("downsample", "--start: '%s' is not an RFC 3339 time "
		    "(2026-03-01T00:00:00Z) or a date (2026-03-01)", job.start_arg);
	if (job.end_arg != NULL && ds_time(job.end_arg, NULL, &end) < 0)
		return usage_error("downsample", "--end: '%s' is not an RFC 3339 time "
		    "(2026-03-01T00:00:00Z) or a date (2026-03-01)", job.end_arg);
	if ((status = load_settings(&settings, env_file, config)) != 0)
		return status;
	if ((status = apply_flags(settings, NULL, false, verbosity(quiet, verbose))) == 0)
		status = check_settings(settings);
	pv_settings_free(settings);
	if (status != 0)
		return status;
	level = log_from_env();
	if ((status = config_from_env(&cfg)) != 0)
		return status;
	if (pv_tz_open(&tz, cfg.timezone, &err) < 0) {
		pv_error("TSV_TIMEZONE: %s", err.msg);
		return EX_CONFIG;
	}
	status = EX_USAGE;
	if ((job.start_arg != NULL && ds_time(job.start_arg, tz, &start) < 0) ||
	    (job.end_arg != NULL && ds_time(job.end_arg, tz, &end) < 0)) {
		usage_error("downsample", "--start or --end: not a time in %s", pv_tz_name(tz));
		goto out;
	}
	if (job.start_arg != NULL && job.end_arg != NULL && start >= end) {
		usage_error("downsample", "--start %s is not before --end %s", job.start_arg, job.end_arg);
		goto out;
	}
	status = EX_CONFIG;
	if ((s = getenv("TSV_DOWNSAMPLE")) != NULL && strcmp(s, "0") == 0) {
		pv_error("downsampling is off (TSV_DOWNSAMPLE=0, downsample.enabled): nothing to recompute");
		goto out;
	}
	s = getenv("TSV_DOWNSAMPLE_LEVELS");
	if (pv_levels_parse(s != NULL ? s : "1h,1d,1w", levels, &nlevels, &err) < 0) {
		pv_error("TSV_DOWNSAMPLE_LEVELS: %s", err.msg);
		goto out;
	}
	status = 0;
	if ((s = getenv("TSV_OUTPUT")) != NULL && s[0] != '\0') {
		pv_info("the output is a file (TSV_OUTPUT): a file keeps no downsampled copies, nothing to do");
		goto out;
	}
	if (pv_influx_config_from_env(&icfg, &err) < 0) {
		pv_error("%s", err.msg);
		status = EX_CONFIG;
		goto out;
	}
	if (icfg.api == PV_API_VM) {
		pv_info("VictoriaMetrics keeps no downsampled copies (INFLUXDB_API=vm): nothing to do");
		goto out;
	}
	if (nlevels == 0) {
		pv_info("no downsampling level (TSV_DOWNSAMPLE_LEVELS is empty): nothing to do");
		goto out;
	}
	for (size_t i = 0; i < nlevels; i++)
		snprintf(job.levels + strlen(job.levels), sizeof(job.levels) - strlen(job.levels), "%s%s",
		    i ? "," : "", pv_level_name(levels[i]));
	status = EX_NOINPUT;
	if (stat(data, &st) < 0 || !S_ISDIR(st.st_mode) || (real = realpath(data, NULL)) == NULL) {
		pv_error("data folder %s: %s", data, errno ? strerror(errno) : "not a folder");
		goto out;
	}
	job.data = real;
	if (job.bucket_arg != NULL)
		status = pv_paths_add(&buckets, job.bucket_arg) < 0 ? EX_OSERR : 0;
	else
		status = ds_buckets(&buckets, real);
	if (status != 0)
		goto out;
	/* the state beside the run reports */
	s = getenv("TSV_REPORT_DIR");
	dir = s != NULL && s[0] != '\0' ? strdup(s) : pv_run_default_report_dir(real);
	if (dir == NULL || pv_mkdirs(dir, &err) < 0 || asprintf(&job.state_path, "%s/%s", dir, DS_STATE_NAME) < 0) {
		pv_warn("reports folder %s: %s: the backfill cannot be resumed if interrupted",
		    dir ? dir : "?", dir ? err.msg : strerror(errno));
		job.state_path = NULL;
	}
	ds_state_read(&job);
	if (job.resume)
		pv_info("downsample: resuming the interrupted backfill (%s) at %s %s", job.state_path,
		    job.r_bucket, pv_level_name(job.r_level));
	if ((status = pv_sink_influx_open(&sink, &icfg, &err)) < 0) {
		pv_error("%s", err.msg);
		status = exit_for(status);
		goto out;
	}
	catch_signals();
	status = 0;
	for (size_t i = 0; i < buckets.count && status == 0; i++) {
		status = ds_bucket(&job, sink, tz, buckets.items[i], levels, nlevels,
		    job.start_arg ? &start : NULL, job.end_arg ? &end : NULL,
		    progress_start(&bar, level, false) ? &bar : NULL, &missing);
		/* the state says this bucket is done: a rerun goes on with the next */
		if (status == 0 && pv_stop_signal() != 0 && i + 1 < buckets.count) {
			pv_warn("downsample interrupted by signal %d after bucket %s: the same command resumes "
			    "with the next", pv_stop_signal(), buckets.items[i]);
			status = EX_TEMPFAIL;
		}
	}
	/* a finished backfill leaves no state */
	if (status == 0 && job.state_path != NULL && unlink(job.state_path) < 0 && errno != ENOENT)
		pv_warn("downsample state %s: %s", job.state_path, strerror(errno));
	if (status == 0 && missing)
		status = EX_NOINPUT;
out:
	pv_sink_free(sink);
	pv_tz_free(tz);
	pv_paths_free(&buckets);
	free(job.state_path);
	free(job.r_bucket);
	free(real);
	free(dir);
	return status;
}

static const struct command {
	const char *name;
	int (*main)(int, char **);
} commands[] = {
	{ "spool", spool_main },
	{ "token", token_main },
	{ "channels", channels_main },
	{ "config", config_main },
	{ "status", status_main },
	{ "downsample", downsample_main },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Edits (insert, delete, replace, swap two neighbours) from a to b, any case; 3 means 3 or more. */
static int
distance(const char *a, const char *b)
{
	enum { N = 16 };
	size_t la = strlen(a), lb = strlen(b);
	int d[N][N];

	/* every edit changes the length by one at most */
	if (la >= N || lb >= N || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t i = 0; i <= la; i++)
		for (size_t j = 0; j <= lb; j++) {
			int cost = i > 0 && j > 0 &&
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			if (i == 0 || j == 0) {
				d[i][j] = (int)(i + j);
				continue;
			}
			d[i][j] = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < d[i][j])
				d[i][j] = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < d[i][j])
				d[i][j] = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	return d[la][lb] < 3 ? d[la][lb] : 3;
}

/* The command nearest to a mistyped one, at most two edits away, or NULL. */
static const char *
nearest_command(const char *word)
{
	const char *best = NULL;
	int d, bestd = 3;

	for (size_t i = 0; i < NCOMMANDS; i++)
		if ((d = distance(word, commands[i].name)) < bestd) {
			bestd = d;
			best = commands[i].name;
		}
	return best;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-folder", required_argument, NULL, 'd' },
		{ "dataFolder", required_argument, NULL, 'd' },
		{ "tsv-file", required_argument, NULL, 't' },
		{ "tsvFile", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "spool", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "env-file", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = NULL, *output = NULL, *env_file = NULL, *config = NULL, *s;
	pv_settings *settings = NULL;
	bool no_verify = false, worker = false;
	pv_spool *spool = NULL;
	pv_paths files = { 0 }, direct = { 0 };
	pv_walk *walk = NULL;
	pv_passed_list passed = { 0 };
	pv_run_opts opts = { 0 };
	pv_publisher *publisher = NULL;
	pv_tz *ds_tz = NULL;
	pv_influx_config icfg;
	pv_run_outcome out;
	pv_sink *sink = NULL;
	pv_err err = { "" };
	struct stat st;
	const char *near;
	double min_age = 0;
	size_t young = 0;
	pv_log_level level;
	progress bar;
	int ch, rc, status, spool_status = 0, quiet = 0, verbose = 0;

	/* getopt's messages name the command: "tsv_parser status: unrecognized option ..." */
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(argv[1], commands[i].name) == 0) {
				char name[32];
				snprintf(name, sizeof(name), "tsv_parser %s", commands[i].name);
				argv[1] = name;
				return commands[i].main(argc - 1, argv + 1);
			}
		if ((near = nearest_command(argv[1])) != NULL)
			return usage_error(NULL, "unknown command '%s'; did you mean '%s'?", argv[1], near);
	}
	if (argc > 0)
		argv[0] = (char *)"tsv_parser";
	while ((ch = getopt_long(argc, argv, "d:t:o:qvh", longopts, NULL)) != -1) {
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
		case 'S':
			worker = true;
			break;
		case 'q':
			quiet++;
			break;
		case 'v':
			verbose++;
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
			pv_paths_free(&files);
			return usage_error(NULL, NULL);
		}
	}
	status = 0;
	if (optind < argc)
		status = usage_error(NULL, "unexpected argument '%s'", argv[optind]);
	else if (data_dir == NULL)
		status = usage_error(NULL, "-d (--data-folder) is required");
	else if (worker && (files.count > 0 || opts.dry_run))
		status = usage_error(NULL, "--spool works the spool: not with %s", opts.dry_run ? "--dry-run" : "-t");
	if (status != 0)
		goto out;
	if ((status = load_settings(&settings, env_file, config)) != 0)
		goto out;
	if ((status = apply_flags(settings, output, no_verify, verbosity(quiet, verbose))) != 0)
		goto out;
	if ((status = check_settings(settings)) != 0)
		goto out;
	level = log_from_env();
	if ((status = config_from_env(&opts.cfg)) != 0)
		goto out;
	opts.cfg.formats = pv_settings_formats(settings);
	/* a dry run writes its points only where -o says: a preview, which locks nothing */
	if (!opts.dry_run && (s = getenv("TSV_OUTPUT")) != NULL && s[0] != '\0')
		output = s;
	opts.cfg.no_lock = opts.dry_run;
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
	/* a real scan, or the worker: through the spool (a dry run only reads) */
	if (worker || (files.count == 0 && !opts.dry_run)) {
		if ((status = spool_open(&spool, data_dir)) != 0)
			goto out;
		status = EX_NOINPUT;
	}
	rc = PV_OK;
	if (files.count > 0) {
		rc = pv_walk_list(&walk, files.items, files.count, &err);
	} else if (!worker) {
		/* files still being written are left for the next run */
		min_age = (s = getenv("TSV_MIN_AGE")) && s[0] ? strtod(s, NULL) : 10;
		rc = pv_walk_open(&walk, data_dir, min_age, &passed, &err);
		if (rc == PV_OK && (young = pv_walk_young(walk)) > 0)
			pv_info("%zu files modified in the last %g s left for a later run", young, min_age);
	}
	if (rc < 0) {
		pv_error("%s", err.msg);
		goto out;
	}
	if (spool != NULL) {
		catch_signals();
		if (walk != NULL) {
			spool_status = spool_scan(spool, walk, &direct, &passed);
			pv_walk_free(walk);
			walk = NULL;
			if (pv_stop_signal() != 0) {
				status = 128 + pv_stop_signal();
				goto out;
			}
			if (spool_status == EX_IOERR || spool_status == EX_OSERR) {
				status = spool_status;
				goto out;
			}
			if (direct.count > 0 && (rc = pv_walk_list(&walk, direct.items, direct.count, &err)) < 0) {
				pv_error("%s", err.msg);
				status = EX_OSERR;
				goto out;
			}
		}
		/* one worker at a time: the one running takes the new copies too */
		if ((rc = pv_spool_lock(spool, &err)) <= 0) {
			pv_passed_log(&passed);
			if (rc < 0)
				pv_error("%s", err.msg);
			else
				pv_info("another worker is running (it takes the spooled files): nothing to do");
			status = rc < 0 ? EX_CANTCREAT : spool_status;
			goto out;
		}
		opts.spool = spool;
	}
	if ((walk == NULL || pv_walk_total(walk) == 0) && spool_waiting(spool) == 0) {
		/* nothing to run, but what the scan passed over is still said */
		pv_passed_log(&passed);
		if (!opts.dry_run) {
			memset(&out, 0, sizeof(out));
			log_summary(&out.totals, false, data_dir, young, min_age);
			status = spool_status;
			if (spool != NULL)
				record_run(spool, &out, status);
			goto out;
		}
	}

	if ((spool != NULL || pv_walk_total(walk) > 0) && (!opts.dry_run || output != NULL)) {
		status = EX_CONFIG;
		rc = output ? pv_sink_file_open(&sink, output, &err) : pv_sink_influx_open(&sink, &icfg, &err);
		if (rc < 0) {
			pv_error("%s", err.msg);
			status = exit_for(rc);
			goto out;
		}
	}
	/* a real run into the database only: not a dry run, not -o */
	if (sink != NULL && output == NULL && !opts.dry_run && (s = getenv("CONFIG_API_URL")) != NULL && s[0] != '\0') {
		if ((rc = pv_publisher_open(&publisher, s, &err)) < 0) {
			pv_error("%s", err.msg);
			status = exit_for(rc);
			goto out;
		}
		opts.publisher = publisher;
	}
	/* downsampling: a real run into the database only (the sink says whether its API does it) */
	if (sink != NULL && output == NULL && !opts.dry_run &&
	    ((s = getenv("TSV_DOWNSAMPLE")) == NULL || strcmp(s, "0") != 0)) {
		s = getenv("TSV_DOWNSAMPLE_LEVELS");
		if (pv_levels_parse(s != NULL ? s : "1h,1d,1w", opts.levels, &opts.nlevels, &err) < 0 ||
		    (opts.nlevels > 0 && pv_tz_open(&ds_tz, opts.cfg.timezone, &err) < 0)) {
			pv_error("TSV_DOWNSAMPLE_LEVELS: %s", err.msg);
			status = EX_CONFIG;
			goto out;
		}
		opts.downsample_tz = ds_tz;
	}
	opts.data_dir = data_dir;
	opts.files = walk;
	opts.sink = sink;
	opts.report_dir = getenv("TSV_REPORT_DIR");
	opts.passed = &passed;
	/*
	 * a dry run's report streams to standard output as the run goes, unless
	 * its preview's line protocol goes there: standard output never carries both
	 */
	if (opts.dry_run && (output == NULL || strcmp(output, "-") != 0))
		opts.report_stream = stdout;
	if (progress_start(&bar, level, opts.report_stream == stdout ||
	    (output != NULL && strcmp(output, "-") == 0))) {
		opts.progress = progress_update;
		opts.progress_arg = &bar;
	}
	catch_signals();
	rc = pv_run_files(&out, &opts, &err);
	pv_log_status(NULL);
	if (rc < 0) {
		pv_error("%s", err.msg);
		status = exit_for(rc);
	} else if (out.totals.nb_pending > 0)
		status = EX_TEMPFAIL;
	else if (out.totals.nb_error > 0)
		status = EX_DATAERR;
	else if (out.report_failed || (opts.dry_run && fflush(stdout) == EOF)) {
		if (opts.dry_run)
			pv_error("cannot print the run report");
		status = opts.dry_run ? EX_IOERR : EX_CANTCREAT;
	} else
		status = spool_status;
	if (out.interrupted) {
		/* as a shell reports a command killed by the signal: 130, 143 */
		pv_warn("run interrupted by signal %d: the files not finished stay for the next run",
		    pv_stop_signal());
		status = 128 + pv_stop_signal();
	}
	log_summary(&out.totals, opts.dry_run, data_dir, young, min_age);
	if (spool != NULL)
		record_run(spool, &out, status);
	pv_run_outcome_free(&out);
out:
	pv_spool_free(spool);
	pv_paths_free(&direct);
	pv_publisher_close(publisher);
	pv_tz_free(ds_tz);
	pv_sink_free(sink);
	pv_walk_free(walk);
	pv_paths_free(&files);
	pv_passed_free(&passed);
	pv_settings_free(settings);
	return status;
}
