/*
 * tsv_parser config: the settings in effect and their sources.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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
	    "      --table            print the settings table itself, tab-separated: key,\n"
	    "                         variable, kind, default, range or choices, meaning\n"
	    "      --exec program     run program (found in PATH) with its arguments, the\n"
	    "                         settings read (environment, .env, YAML) in its\n"
	    "                         environment: a secret is passed, never printed\n"
	    OPT_OUTPUT_CONFIG OPT_QUIET OPT_FILES OPT_HELP
	    "exit: 0 printed, 64 usage (an unknown name, a secret), 66 missing file,\n"
	    "  69 program not run, 74 not printed, 78 configuration; with --exec, the\n"
	    "  program's\n",
	    fp);
}

/* What the command line asks of `tsv_parser config`. */
typedef struct config_args {
	cli_opts o;
	const char *output;
	bool no_verify, get, nul, run, table;
} config_args;

/* The options into a, the names of --get checked: CLI_GO_ON, else the exit status. */
static int
config_options(config_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "get", no_argument, NULL, 'g' },
		{ "exec", no_argument, NULL, 'x' },
		{ "table", no_argument, NULL, 'T' },
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = cli_getopt(&a->o, argc, argv, "o:qvzh", longopts)) != -1) {
		switch (ch) {
		case 'o': a->output = optarg; break;
		case 'N': a->no_verify = true; break;
		case 'g': a->get = true; break;
		case 'x': a->run = true; break;
		case 'z': a->nul = true; break;
		case 'T': a->table = true; break;
		case 'h': usage_config(stdout); return 0;
		default: return cli_usage_error("config", NULL);
		}
	}
	if (a->get && a->run)
		return cli_usage_error("config", "--get and --exec do not go together");
	if (a->table && (a->get || a->run || a->nul))
		return cli_usage_error("config", "--table goes alone");
	if (a->table && optind < argc)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
	if (a->run && optind == argc)
		return cli_usage_error("config", "--exec needs a program");
	if (!a->get && !a->run && !a->table && optind < argc)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
	if (a->nul && !a->get)
		return cli_usage_error("config", "-z goes with --get");
	if (a->get && optind == argc)
		return cli_usage_error("config", "--get needs at least one name");
	/* names first: nothing is read for a command that cannot be answered */
	for (int i = optind; a->get && i < argc; i++) {
		int k = pv_settings_lookup(argv[i]);
		if (k == PV_GET_SECRET)
			return cli_usage_error("config",
			    "%s is a secret: never printed (its *_file key gives the file's path)", argv[i]);
		if (k == PV_GET_UNKNOWN)
			return cli_usage_error("config",
			    "unknown setting '%s' (a variable or section.key, as 'tsv_parser config' lists them)",
			    argv[i]);
	}
	return CLI_GO_ON;
}

/* tsv_parser config: the effective settings and where each comes from. */
int
cli_cmd_config(int argc, char **argv)
{
	config_args a = { 0 };
	pv_settings *s = NULL;
	pv_err err;
	int status;

	if ((status = config_options(&a, argc, argv)) != CLI_GO_ON)
		return status;
	if (a.table)
		/* the table, not the values: nothing is read */
		return pv_settings_print_table(stdout) < 0 || fflush(stdout) == EOF ? EX_IOERR : 0;
	/* the run's flags, to see what they would make of the settings */
	status = cli_settings(&s, &a.o, a.output, a.no_verify);
	if (status == 0 && a.run) {
		/* the settings are in this process's environment now: hand them on */
		pv_settings_free(s);
		fflush(NULL);
		execvp(argv[optind], argv + optind);
		pv_error("cannot run %s: %s", argv[optind], strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (status == 0 && a.get) {
		/* values, not their checks: a wrong TSV_* value is the run's to refuse */
		for (int i = optind; i < argc; i++)
			printf("%s%c", pv_settings_get(s, pv_settings_lookup(argv[i])), a.nul ? '\0' : '\n');
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	} else if (status == 0 && (status = cli_check_settings(s)) == 0) {
		if (pv_settings_check_foreign(s, &err) < 0)
			pv_warn("%s (tsv_parser does not use it; the hook or the playbooks refuse it)", err.msg);
		pv_settings_print(s, stdout);
		status = fflush(stdout) == EOF ? EX_IOERR : 0;
	}
	pv_settings_free(s);
	return status;
}
