/*
 * tsv_parser status: what the runs did, what waits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "powerview/run.h"
#include "powerview/status.h"
#include "cli.h"

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

/* The spool's part of the status: what waits there, the worker's last run. */
static int
add_spool(cJSON *st, const pv_settings *s, const char *data_dir, pv_err *err)
{
	char *dir = cli_spool_dir(s, data_dir);
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
int
cli_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_DATA_FOLDER,
		{ "json", no_argument, NULL, 'j' },
		CLI_LONGOPTS_SHARED,
		{ NULL, 0, NULL, 0 },
	};
	cli_opts o = { 0 };
	const char *data_dir = NULL, *s;
	bool json = false;
	pv_settings *settings = NULL;
	cJSON *st = NULL;
	char *dir = NULL;
	pv_err err;
	int ch, status;

	while ((ch = cli_getopt(&o, argc, argv, "d:qvh", longopts)) != -1) {
		switch (ch) {
		case 'd': data_dir = optarg; break;
		case 'j': json = true; break;
		case 'h': usage_status(stdout); return 0;
		default: return cli_usage_error("status", NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if ((status = cli_settings(&settings, &o, NULL, false)) != 0)
		return status;
	cli_log_level(settings);
	if (data_dir == NULL)
		data_dir = pv_settings_str(settings, "hook.data_dir");
	if ((s = pv_settings_str(settings, "reports.dir")) != NULL)
		dir = strdup(s);
	else
		dir = pv_run_default_report_dir(data_dir);
	if (dir == NULL) {
		pv_error("status: data folder %s: %s (give -d or TSV_REPORT_DIR)", data_dir, strerror(errno));
		status = EX_NOINPUT;
	} else if (pv_status_build(&st, dir, data_dir, &err) < 0 ||
	    (status = add_spool(st, settings, data_dir, &err)) != 0) {
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
