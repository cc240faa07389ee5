/*
 * What a run needs before its first file: its inputs checked, its sink
 * chosen and opened, the publisher and the downsampling that follow each
 * success in the database.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "powerview/config.h"
#include "powerview/influx.h"
#include "powerview/publish.h"
#include "powerview/run.h"

int
pv_run_check_inputs(const char *data_dir, const pv_paths *files, pv_err *err)
{
	struct stat st;

	if (stat(data_dir, &st) < 0)
		return pv_fail(err, PV_ENOENT, "data folder %s: %s", data_dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return pv_fail(err, PV_ENOENT, "data folder %s: not a folder", data_dir);
	for (size_t i = 0; i < files->count; i++) {
		if (stat(files->items[i], &st) < 0) {
			/* one the run cannot reach (a tenant's chmod) waits there, with its reason */
			if (errno == EACCES)
				continue;
			return pv_fail(err, PV_ENOENT, "%s: %s", files->items[i], strerror(errno));
		}
		if (!S_ISREG(st.st_mode))
			return pv_fail(err, PV_ENOENT, "%s: not a regular file", files->items[i]);
	}
	return PV_OK;
}

int
pv_run_prepare(pv_run_opts *opts, const pv_run_targets *t, pv_err *err)
{
	const char *url = pv_settings_str(opts->settings, "config_api.url");
	pv_err why;
	int rc;

	rc = t->output ? pv_sink_file_open(&opts->sink, t->output, err) :
	    pv_sink_influx_open(&opts->sink, t->db, err);
	if (rc < 0 || t->output != NULL || opts->dry_run)
		return rc;
	/* a real run into the database only: not a dry run, not -o */
	if (url != NULL && (rc = pv_publisher_open(&opts->publisher, url, err)) < 0)
		return rc;
	/* downsampling: the sink says whether its API does it */
	if (pv_settings_bool(opts->settings, "downsample.enabled") &&
	    (pv_levels_parse(pv_settings_str(opts->settings, "downsample.levels"), opts->levels, &opts->nlevels,
		&why) < 0 ||
	    (opts->nlevels > 0 && pv_tz_open(&opts->downsample_tz, opts->cfg.timezone, &why) < 0)))
		return pv_fail(err, PV_ECONFIG, "TSV_DOWNSAMPLE_LEVELS: %s", why.msg);
	return PV_OK;
}

void
pv_run_release(pv_run_opts *opts)
{
	pv_publisher_close(opts->publisher);
	opts->publisher = NULL;
	pv_tz_free(opts->downsample_tz);
	opts->downsample_tz = NULL;
	pv_sink_free(opts->sink);
	opts->sink = NULL;
}
