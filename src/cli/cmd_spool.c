/*
 * tsv_parser spool: copy uploads into the spool.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"

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

/* tsv_parser spool -d DIR FILE...: each file copied into the spool, durably. */
int
cli_cmd_spool(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_DATA_FOLDER,
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	cli_opts o = { 0 };
	const char *data_dir = NULL;
	pv_spool *sp = NULL;
	pv_settings *settings = NULL;
	struct stat st;
	int ch, status;

	while ((ch = cli_getopt(&o, argc, argv, "d:qvh", longopts)) != -1) {
		switch (ch) {
		case 'd': data_dir = optarg; break;
		case 'h': usage_spool(stdout); return 0;
		default: return cli_usage_error("spool", NULL);
		}
	}
	if (data_dir == NULL)
		return cli_usage_error("spool", "-d (--data-folder) is required");
	if (optind == argc)
		return cli_usage_error("spool", "no file to spool");
	if ((status = cli_command_settings(&settings, &o, NULL)) != 0)
		goto out;
	if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pv_error("data folder %s: %s", data_dir, errno ? strerror(errno) : "not a folder");
		status = EX_NOINPUT;
		goto out;
	}
	if ((status = cli_spool_open(&sp, settings, data_dir)) != 0)
		goto out;
	for (int i = optind; i < argc; i++) {
		pv_err err = { "" };
		pv_spooled how = cli_spool_one(sp, argv[i], PV_LOG_INFO, &err);
		if (how != PV_SPOOL_COPIED && how != PV_SPOOL_ALREADY)
			pv_log(how == PV_SPOOL_FAILED ? PV_LOG_ERROR : PV_LOG_WARNING, "%s", err.msg);
		status = spool_exit(status, how);
	}
out:
	pv_spool_free(sp);
	pv_settings_free(settings);
	return status;
}
