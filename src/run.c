/* A run: ingest and settle each file, then write the report. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/report.h"
#include "powerview/run.h"
#include "powerview/settle.h"

char *
pv_run_default_report_dir(const char *data_dir)
{
	char *real = realpath(data_dir, NULL), *out = NULL;

	if (real == NULL)
		return NULL;
	if (asprintf(&out, "%s/logs/reports", dirname(real)) < 0)
		out = NULL;
	free(real);
	return out;
}

static double
seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
now_iso(char *buf, size_t size)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	pv_report_isotime(buf, size, tv.tv_sec, tv.tv_usec);
}

static void
log_file(const pv_file_result *r)
{
	if (r->status == PV_STATUS_SUCCESS)
		pv_info("%s: success, %llu points from %llu rows (%llu invalid timestamps, %llu invalid values)%s%s",
		    r->file_path, (unsigned long long)r->nb_points, (unsigned long long)r->nb_rows,
		    (unsigned long long)r->nb_invalid_timestamps,
		    (unsigned long long)r->nb_invalid_values, r->destination ? " -> " : "",
		    r->destination ? r->destination : "");
	else
		pv_log(r->status == PV_STATUS_ERROR ? PV_LOG_ERROR : PV_LOG_WARNING, "%s: %s: %s%s%s",
		    r->file_path, pv_status_name(r->status), r->error ? r->error : "",
		    r->destination ? " -> " : "", r->destination ? r->destination : "");
}

/* parsed/ or error/, by the outcome; a failed move keeps the file for the next run. */
static void
settle(pv_file_result *r, const char *data_dir)
{
	pv_err err = { "" };
	const char *sub;
	int rc;

	if (r->status == PV_STATUS_SUCCESS)
		sub = "parsed";
	else if (r->status == PV_STATUS_ERROR)
		sub = "error";
	else
		return;
	if (!pv_path_inside(data_dir, r->file_path)) {
		/* not ours to move: only the data folder is the parser's */
		pv_file_result_warn(r, "left in place: outside the data folder");
		return;
	}
	rc = pv_settle_move(&r->destination, r->file_path, sub, &err);
	if (rc == PV_ENOENT) {
		pv_file_result_warn(r, "the file vanished before it could be moved to %s/", sub);
		pv_warn("%s: vanished before it could be moved to %s/", r->file_path, sub);
	} else if (rc < 0) {
		free(r->error);
		r->error = strdup(err.msg);
		r->status = PV_STATUS_PENDING;
	}
}

int
pv_run_files(pv_run_outcome *out, const pv_run_opts *o, pv_err *err)
{
	pv_run run;
	struct timespec t0, t1;
	int rc = PV_OK;

	memset(out, 0, sizeof(*out));
	memset(&run, 0, sizeof(run));
	now_iso(run.run_id, sizeof(run.run_id));
	now_iso(run.start_time, sizeof(run.start_time));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run.base_folder = o->data_dir;
	run.dry_run = o->dry_run;
	run.files = cJSON_CreateArray();

	for (size_t i = 0; i < o->nfiles; i++) {
		pv_file_result r;

		pv_file_result_init(&r, o->files[i]);
		rc = pv_ingest_file(&r, &o->cfg, o->data_dir, o->files[i], o->dry_run ? NULL : o->sink);
		if (!o->dry_run)
			settle(&r, o->data_dir);
		log_file(&r);
		run.nb_files_total++;
		if (r.status == PV_STATUS_SUCCESS) {
			run.nb_files_success++;
			run.nb_points_total += r.nb_points;
		} else if (r.status == PV_STATUS_ERROR) {
			run.nb_files_failed++;
			out->nb_error++;
		} else if (r.status == PV_STATUS_PENDING) {
			out->nb_pending++;
		}
		cJSON_AddItemToArray(run.files, pv_report_file(&r));
		pv_file_result_free(&r);
		if (rc == PV_ECONFIG || rc == PV_ENOMEM) {
			pv_fail(err, rc, "run stopped: %s", pv_rc_name(rc));
			break;
		}
		rc = PV_OK;
	}

	clock_gettime(CLOCK_MONOTONIC, &t1);
	now_iso(run.end_time, sizeof(run.end_time));
	run.duration_s = seconds_between(&t0, &t1);
	out->report = pv_report_run(&run);
	cJSON_Delete(run.files);
	if (out->report == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	/* a run with files kept for later is not a success either */
	if (out->nb_pending > 0)
		cJSON_ReplaceItemInObjectCaseSensitive(out->report, "status",
		    cJSON_CreateString("partial_failure"));

	/* like the original, a run that found nothing leaves no report */
	if (!o->dry_run && o->nfiles > 0) {
		char name[128], *dir = o->report_dir && o->report_dir[0]
		    ? strdup(o->report_dir) : pv_run_default_report_dir(o->data_dir);
		char *json = cJSON_Print(out->report);
		pv_err werr = { "" };

		pv_report_file_name(name, sizeof(name), run.run_id);
		if (dir == NULL || json == NULL ||
		    pv_settle_write_atomic(dir, name, json, strlen(json), &werr) < 0) {
			out->report_failed = true;
			pv_error("cannot write the run report: %s", werr.msg[0] ? werr.msg : "out of memory");
		} else if (asprintf(&out->report_path, "%s/%s", dir, name) >= 0) {
			pv_info("run report written to %s", out->report_path);
		}
		free(json);
		free(dir);
	}
	return rc;
}

void
pv_run_outcome_free(pv_run_outcome *out)
{
	cJSON_Delete(out->report);
	free(out->report_path);
	memset(out, 0, sizeof(*out));
}
