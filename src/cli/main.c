/*
 * tsv_parser: ingest MV2 logger files into InfluxDB.
 * A thin tool over libpowerview: a table of commands (one cmd_*.c each) and
 * what they share: options files and settings, -q/-v, signals, the
 * progress line, exit codes.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "powerview/channels.h"
#include "powerview/downsample.h"
#include "powerview/windows.h"
#include "cli.h"

/*
 * A usage error: one line saying what is wrong (none when getopt said it),
 * one saying where to look; exit 64.
 */
int
cli_usage_error(const char *cmd, const char *fmt, ...)
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

/* The command line wins over every other source: -o, --no-verify, -q and -v (counted). */
static int
cli_apply_flags(pv_settings *s, const char *output, bool no_verify, int quiet, int verbose)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
	int level = PV_LOG_INFO + quiet - verbose;

	level = level < PV_LOG_DEBUG ? PV_LOG_DEBUG : level > PV_LOG_ERROR ? PV_LOG_ERROR : level;
	if ((output && pv_settings_flag(s, "sink.output", output) < 0) ||
	    (no_verify && pv_settings_flag(s, "sink.verify", "0") < 0) ||
	    ((quiet || verbose) && pv_settings_flag(s, "log.level", names[level]) < 0)) {
		pv_error("out of memory");
		return EX_OSERR;
	}
	return 0;
}

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

void
cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a wait (a lock, a backoff) ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The one mapping from a pv_rc to an exit status (sysexits). */
int
cli_exit(int rc)
{
	switch (rc) {
	case PV_OK: return 0;
	case PV_ECONFIG: return EX_CONFIG;
	case PV_ETEMP: return EX_TEMPFAIL;
	case PV_EDATA: return EX_DATAERR;
	case PV_ENOENT: return EX_NOINPUT;
	case PV_ENOMEM: return EX_OSERR;
	case PV_EIO: return EX_IOERR;
	default: return EX_SOFTWARE;
	}
}

/*
 * Environment, then .env, then powerview.yaml (a named file must exist);
 * then the command line, which wins over every other source: -o,
 * --no-verify, -q and -v. 0, or the exit status (said; *out freed).
 */
int
cli_settings(pv_settings **out, const cli_opts *o, const char *output, bool no_verify)
{
	pv_err err;
	int rc = pv_settings_load(out, o->env_file, o->config, &err), status;

	if (rc < 0) {
		pv_error("%s", err.msg);
		return cli_exit(rc);
	}
	if ((status = cli_apply_flags(*out, output, no_verify, o->quiet, o->verbose)) != 0) {
		pv_settings_free(*out);
		*out = NULL;
	}
	return status;
}

int
cli_check_settings(const pv_settings *s)
{
	pv_err err;

	if (pv_settings_check(s, &err) < 0) {
		pv_error("%s", err.msg);
		return EX_CONFIG;
	}
	return 0;
}

/* The spool folder of a data folder: spool.dir, else <data folder>/../spool. */
char *
cli_spool_dir(const pv_settings *s, const char *data_dir)
{
	const char *dir = pv_settings_str(s, "spool.dir");

	return dir != NULL ? strdup(dir) : pv_spool_default_dir(data_dir);
}

/* Sets the log level from log.level; returns the level in effect. */
pv_log_level
cli_log_level(const pv_settings *s)
{
	const char *v = pv_settings_str(s, "log.level");
	pv_log_level level;

	if (!pv_log_level_parse(&level, v)) {
		/* from the environment, as the original: not refused, INFO */
		pv_warn("unknown TSV_LOG_LEVEL '%s', using INFO", v);
		return PV_LOG_INFO;
	}
	pv_log_set_level(level);
	return level;
}

/* The parser's settings (parser.*) and the formats, checked before by the table. */
void
cli_parser_config(pv_config *cfg, const pv_settings *s)
{
	pv_config_defaults(cfg);
	cfg->timezone = pv_settings_str(s, "parser.timezone");
	(void)pv_id_scheme_parse(&cfg->scheme, pv_settings_str(s, "parser.channel_id_scheme"));
	cfg->file_name_tag = pv_settings_bool(s, "parser.file_name_tag");
	cfg->formats = pv_settings_formats(s);
}

/*
 * The settings of a command that reads them through the table: loaded,
 * the flags applied, checked, the log level set (and put in *level unless
 * NULL). 0 (*out to free), or the exit status.
 */
int
cli_command_settings(pv_settings **out, const cli_opts *o, pv_log_level *level)
{
	pv_log_level in_effect;
	int status;

	if ((status = cli_settings(out, o, NULL, false)) != 0)
		return status;
	if ((status = cli_check_settings(*out)) != 0) {
		pv_settings_free(*out);
		*out = NULL;
		return status;
	}
	in_effect = cli_log_level(*out);
	if (level != NULL)
		*level = in_effect;
	return 0;
}

/*
 * getopt_long with the options every command shares taken into o: -q,
 * -v, --config, --env-file. The next option of the command's own ('h' for
 * -h, '?' for an error), or -1 at the end.
 */
int
cli_getopt(cli_opts *o, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int ch;

	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': o->quiet++; break;
		case 'v': o->verbose++; break;
		case 'c': o->config = optarg; break;
		case 'e': o->env_file = optarg; break;
		default: return ch;
		}
	}
	return -1;
}

/* Opens the spool of a data folder; an exit status on failure. */
int
cli_spool_open(pv_spool **sp, const pv_settings *s, const char *data_dir)
{
	char *dir = cli_spool_dir(s, data_dir);
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
		/* the spool folder not made or opened: 73, as the usages say */
		return rc == PV_EIO ? EX_CANTCREAT : cli_exit(rc);
	}
	return 0;
}

/* One file into the spool, said in the log. */
pv_spooled
cli_spool_one(pv_spool *sp, const char *file, pv_log_level level, pv_err *err)
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

/* Draws line (cut to the terminal's width) as the progress line. */
void
cli_progress_draw(const cli_progress *p, char *line)
{
	if ((int)strlen(line) >= p->width)
		line[p->width - 1] = '\0';
	pv_log_status(line);
}

/*
 * A progress line only on a terminal of its own (not when the run writes to
 * standard output, the same terminal: -o -, a dry run's report), and at INFO
 * or below: never in a log file, never with -q.
 */
bool
cli_progress_start(cli_progress *p, pv_log_level level, bool writes_stdout)
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

static const struct command {
	const char *name;
	int (*main)(int, char **);
} commands[] = {
	{ "spool", cli_cmd_spool },
	{ "token", cli_cmd_token },
	{ "channels", cli_cmd_channels },
	{ "config", cli_cmd_config },
	{ "status", cli_cmd_status },
	{ "downsample", cli_cmd_downsample },
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
	const char *near;

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
			return cli_usage_error(NULL, "unknown command '%s'; did you mean '%s'?", argv[1], near);
	}
	if (argc > 0)
		argv[0] = (char *)"tsv_parser";
	return cli_cmd_run(argc, argv);
}
