/*
 * The command line's private header: what main.c gives the commands
 * (cmd_*.c, one a command) and the texts their usages share.
 */
#ifndef PV_CLI_H
#define PV_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include "powerview/config.h"
#include "powerview/ingest.h"
#include "powerview/log.h"
#include "powerview/spool.h"

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
	"                  [--no-verify] [--get [-z] name... | --exec program [arg...] |\n" \
	"                  --table]\n"
#define SYN_DOWNSAMPLE \
	"tsv_parser downsample -d dir [-q | -v] [-b name] [--start T] [--end T]\n" \
	"                  [--config path] [--env-file path]\n"
#define SYN_STATUS \
	"tsv_parser status [-q | -v] [-d dir] [--json] [--config path]\n" \
	"                  [--env-file path]\n"

/* The progress line of a run on a terminal: at most ten updates a second. */
typedef struct cli_progress {
	struct timespec last;   /* when it was last drawn */
	bool drawn;
	int width;              /* the terminal's columns */
} cli_progress;

/* The options every command takes: -q, -v, --config, --env-file (and -h). */
typedef struct cli_opts {
	const char *config, *env_file;
	int quiet, verbose;
} cli_opts;

/* A command's long options shared with every other (before the terminator). */
#define CLI_LONGOPTS_SHARED \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "config", required_argument, NULL, 'c' }, \
	{ "env-file", required_argument, NULL, 'e' }, \
	{ "help", no_argument, NULL, 'h' }

/* -d, --data-folder (and the original's --dataFolder), for the commands that read one. */
#define CLI_LONGOPTS_DATA_FOLDER \
	{ "data-folder", required_argument, NULL, 'd' }, \
	{ "dataFolder", required_argument, NULL, 'd' }

/* getopt_long, the shared options taken into o: the command's next own option, or -1. */
int cli_getopt(cli_opts *o, int argc, char **argv, const char *shortopts, const struct option *longopts);

/*
 * What a command's step returns when the command goes on: every other
 * value is the exit status to stop with (0 or sysexits).
 */
#define CLI_GO_ON (-1)

/* The commands, one file each: argv[0] is "tsv_parser COMMAND"; the exit status. */
int cli_cmd_run(int argc, char **argv);
int cli_cmd_spool(int argc, char **argv);
int cli_cmd_token(int argc, char **argv);
int cli_cmd_channels(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_status(int argc, char **argv);
int cli_cmd_downsample(int argc, char **argv);

/* A usage error (cmd NULL: the run); fmt NULL when getopt said what is wrong. EX_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* SIGINT, SIGTERM: pv_stop_request; a second one stops at once. */
void cli_catch_signals(void);
/* The one mapping from a pv_rc to an exit status (sysexits). */
int cli_exit(int rc);
/* Loaded (environment, .env, powerview.yaml), the flags applied; 0 or the exit status (said). */
int cli_settings(pv_settings **out, const cli_opts *o, const char *output, bool no_verify);
int cli_check_settings(const pv_settings *s);
/* Loaded, the flags applied, checked, the log level set (into *level unless NULL); 0 (*out to free) or the exit status. */
int cli_command_settings(pv_settings **out, const cli_opts *o, pv_log_level *level);
/* Sets the log level from log.level; returns the level in effect. */
pv_log_level cli_log_level(const pv_settings *s);
/* The parser's settings and formats into cfg (the values checked by the table). */
void cli_parser_config(pv_config *cfg, const pv_settings *s);
/* The spool folder of a data folder (allocated), and the spool itself. */
char *cli_spool_dir(const pv_settings *s, const char *data_dir);
int cli_spool_open(pv_spool **sp, const pv_settings *s, const char *data_dir);
pv_spooled cli_spool_one(pv_spool *sp, const char *file, pv_log_level level, pv_err *err);
/* The progress line: true when one is drawn (a terminal of its own, INFO or below). */
bool cli_progress_start(cli_progress *p, pv_log_level level, bool writes_stdout);
/* Draws line (cut to the terminal's width) as the progress line. */
void cli_progress_draw(const cli_progress *p, char *line);

#endif
