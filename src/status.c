/* The "light logs" of the original's to-do list, read from the run reports. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "powerview/report.h"
#include "powerview/scan.h"
#include "powerview/status.h"

#define LATEST_ERRORS 10

static bool
is_report(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, "tsv_parser_", 11) == 0 && n > 16 && strcmp(name + n - 5, ".json") == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The report names, oldest first (their names sort as their times). */
static int
report_names(pv_paths *out, const char *dir, pv_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		if (errno == ENOENT)
			return PV_OK; /* no run wrote a report yet */
		return pv_fail(err, PV_EIO, "cannot read %s: %s", dir, strerror(errno));
	}
	while ((e = readdir(d)) != NULL)
		if (is_report(e->d_name) && pv_paths_add(out, e->d_name) < 0) {
			closedir(d);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
	closedir(d);
	if (out->count > 1)
		qsort(out->items, out->count, sizeof(char *), cmp_str);
	return PV_OK;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *
read_json(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;
	cJSON *j = NULL;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (64L << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		j = cJSON_Parse(buf);
	}
	free(buf);
	fclose(f);
	return j;
}

/* Replaces the entry of the same company/campaign/device: later reports win. */
static void
note_success(cJSON *last, const cJSON *file, const char *when)
{
	const char *co = str(file, "bucket"), *ca = str(file, "campaign"), *dev = str(file, "device_master_sn");
	const char *path = str(file, "file_path"), *slash = path ? strrchr(path, '/') : NULL;
	cJSON *e, *it;
	int i = 0;

	if (co == NULL || ca == NULL || dev == NULL)
		return;
	cJSON_ArrayForEach(it, last) {
		if (strcmp(str(it, "company"), co) == 0 && strcmp(str(it, "campaign"), ca) == 0 &&
		    strcmp(str(it, "device"), dev) == 0) {
			cJSON_DeleteItemFromArray(last, i);
			break;
		}
		i++;
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "company", co);
	cJSON_AddStringToObject(e, "campaign", ca);
	cJSON_AddStringToObject(e, "device", dev);
	cJSON_AddStringToObject(e, "time", when);
	cJSON_AddStringToObject(e, "file", slash ? slash + 1 : path ? path : "");
	cJSON_AddNumberToObject(e, "nb_points", num(file, "nb_points"));
	cJSON_AddItemToArray(last, e);
}

/* A folder skipped, once per path: by the last run (`when`) or by this scan (NULL). */
static void
add_skipped(cJSON *skipped, const char *path, const char *reason, const char *when)
{
	const cJSON *it;
	cJSON *e;

	if (path == NULL)
		return;
	cJSON_ArrayForEach(it, skipped)
		if (str(it, "path") && strcmp(str(it, "path"), path) == 0)
			return;
	e = cJSON_CreateObject();
	cJSON_AddItemToObject(e, "path", pv_json_string(path));
	cJSON_AddItemToObject(e, "reason", pv_json_string(reason ? reason : ""));
	cJSON_AddItemToObject(e, "seen", when ? pv_json_string(when) : cJSON_CreateString("now"));
	cJSON_AddItemToArray(skipped, e);
}

/* What the reports add up to: the totals, and the lists the status shows. */
typedef struct status_tally {
	double runs, ok, failed, pending, points;
	cJSON *last, *errors, *skipped;
	char *last_run;
} status_tally;

/* One report into t; `when` is its end_time, else its file name. */
static void
tally_report(status_tally *t, const cJSON *rep, const char *when)
{
	cJSON *f;

	t->runs++;
	/* the folders the last run (as the service's user) could not read */
	cJSON_Delete(t->skipped);
	t->skipped = cJSON_CreateArray();
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(rep, "skipped_folders"))
		add_skipped(t->skipped, str(f, "path"), str(f, "reason"), when);
	free(t->last_run);
	t->last_run = strdup(when);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(rep, "files")) {
		const char *s = str(f, "status");
		if (s == NULL)
			continue;
		if (strcmp(s, "success") == 0) {
			t->ok++;
			t->points += num(f, "nb_points");
			note_success(t->last, f, when);
		} else if (strcmp(s, "error") == 0) {
			t->failed++;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "time", when);
			cJSON_AddStringToObject(e, "file_path", str(f, "file_path") ? str(f, "file_path") : "");
			cJSON_AddStringToObject(e, "error", str(f, "error") ? str(f, "error") : "");
			cJSON_AddStringToObject(e, "destination", str(f, "destination") ? str(f, "destination") : "");
			/* newest first, ten at most */
			cJSON_InsertItemInArray(t->errors, 0, e);
			if (cJSON_GetArraySize(t->errors) > LATEST_ERRORS)
				cJSON_DeleteItemFromArray(t->errors, LATEST_ERRORS);
		} else if (strcmp(s, "pending") == 0)
			t->pending++;
	}
}

/* Every report of report_dir, oldest first, into t. */
static int
tally_reports(status_tally *t, const char *report_dir, pv_err *err)
{
	pv_paths names = { 0 };
	int rc;

	if ((rc = report_names(&names, report_dir, err)) < 0)
		return rc;
	for (size_t i = 0; i < names.count; i++) {
		char *path;
		cJSON *rep;
		if (asprintf(&path, "%s/%s", report_dir, names.items[i]) < 0) {
			rc = pv_fail(err, PV_ENOMEM, "out of memory");
			break;
		}
		rep = read_json(path);
		free(path);
		if (rep == NULL)
			continue; /* unreadable: a report cut by a crash; the next run's stands */
		tally_report(t, rep, str(rep, "end_time") ? str(rep, "end_time") : names.items[i]);
		cJSON_Delete(rep);
	}
	pv_paths_free(&names);
	return rc;
}

/*
 * The files waiting in data_dir into w (each with its age, and why when
 * the scan does not take it); the folders it cannot read into skipped.
 */
static int
list_waiting(cJSON *w, cJSON *skipped, const char *data_dir, pv_err *err)
{
	pv_paths waiting = { 0 };
	pv_passed_list passed = { 0 };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (pv_scan(&waiting, &passed, data_dir, err) < 0) {
		pv_paths_free(&waiting);
		pv_passed_free(&passed);
		return PV_EIO;
	}
	for (size_t i = 0; i < waiting.count + passed.count; i++) {
		const pv_passed *p = i < waiting.count ? NULL : &passed.items[i - waiting.count];
		const char *path = p ? p->path : waiting.items[i];
		struct stat sb;
		cJSON *e;
		if (p != NULL && p->kind == PV_PASSED_UNREADABLE) {
			add_skipped(skipped, path, p->reason, NULL);
			continue;
		}
		if (p != NULL && p->kind == PV_PASSED_FOLDER)
			continue; /* its files are listed */
		e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "file_path", pv_json_string(path));
		if (lstat(path, &sb) == 0)
			cJSON_AddNumberToObject(e, "age_s", (double)(now.tv_sec - sb.st_mtim.tv_sec));
		if (p != NULL)
			cJSON_AddItemToObject(e, "reason", pv_json_string(p->reason));
		cJSON_AddItemToArray(w, e);
	}
	pv_paths_free(&waiting);
	pv_passed_free(&passed);
	return PV_OK;
}

int
pv_status_build(cJSON **out, const char *report_dir, const char *data_dir, pv_err *err)
{
	status_tally t = {
		.last = cJSON_CreateArray(), .errors = cJSON_CreateArray(), .skipped = cJSON_CreateArray()
	};
	cJSON *st = cJSON_CreateObject(), *w = cJSON_CreateArray(), *tot;
	int rc;

	*out = NULL;
	if ((rc = tally_reports(&t, report_dir, err)) < 0 ||
	    (data_dir != NULL && (rc = list_waiting(w, t.skipped, data_dir, err)) < 0)) {
		free(t.last_run);
		cJSON_Delete(t.skipped);
		cJSON_Delete(t.last);
		cJSON_Delete(t.errors);
		cJSON_Delete(w);
		cJSON_Delete(st);
		return rc;
	}
	cJSON_AddStringToObject(st, "report_dir", report_dir);
	if (data_dir)
		cJSON_AddStringToObject(st, "data_dir", data_dir);
	tot = cJSON_AddObjectToObject(st, "totals");
	cJSON_AddNumberToObject(tot, "runs", t.runs);
	cJSON_AddItemToObject(tot, "last_run", t.last_run ? cJSON_CreateString(t.last_run) : cJSON_CreateNull());
	cJSON_AddNumberToObject(tot, "files_success", t.ok);
	cJSON_AddNumberToObject(tot, "files_failed", t.failed);
	cJSON_AddNumberToObject(tot, "files_pending", t.pending);
	cJSON_AddNumberToObject(tot, "points", t.points);
	cJSON_AddNumberToObject(tot, "files_waiting", (double)cJSON_GetArraySize(w));
	cJSON_AddItemToObject(st, "last_success", t.last);
	cJSON_AddItemToObject(st, "latest_errors", t.errors);
	cJSON_AddItemToObject(st, "waiting", w);
	cJSON_AddItemToObject(st, "skipped_folders", t.skipped);
	free(t.last_run);
	*out = st;
	return PV_OK;
}

/* For printing: a missing string is an empty one. */
static const char *
txt(const cJSON *o, const char *key)
{
	const char *s = str(o, key);

	return s ? s : "";
}

/* The spool: copies waiting, the oldest one's age, the worker. */
static void
print_spool(FILE *fp, const cJSON *sp)
{
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(sp, "last_run");

	fprintf(fp, "\nSpool %s\n", txt(sp, "dir"));
	if (str(sp, "error") != NULL) {
		fprintf(fp, "  cannot be read: %s\n", txt(sp, "error"));
		return;
	}
	fprintf(fp, "  %.0f %s waiting", num(sp, "waiting"), num(sp, "waiting") == 1 ? "copy" : "copies");
	if (cJSON_GetObjectItemCaseSensitive(sp, "oldest_age_s") != NULL)
		fprintf(fp, ", the oldest for %.0f s", num(sp, "oldest_age_s"));
	fprintf(fp, "\n  worker: %s", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sp, "worker_running"))
	    ? "running now; " : "");
	if (last == NULL)
		fprintf(fp, "no run recorded\n");
	else
		fprintf(fp, "last run ended %s, exit %.0f: %.0f files, %.0f ingested, %.0f to error/, %.0f pending\n",
		    txt(last, "ended"), num(last, "exit"), num(last, "nb_files"), num(last, "nb_success"),
		    num(last, "nb_error"), num(last, "nb_pending"));
}

void
pv_status_print(const cJSON *st, FILE *fp)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "totals"), *e, *sp;

	fprintf(fp, "Reports: %s (%.0f runs, last %s)\n", txt(st, "report_dir"), num(t, "runs"),
	    str(t, "last_run") ? str(t, "last_run") : "never");
	fprintf(fp, "Files: %.0f ingested (%.0f points), %.0f in error/, %.0f kept for a retry, %.0f waiting\n\n",
	    num(t, "files_success"), num(t, "points"), num(t, "files_failed"), num(t, "files_pending"),
	    num(t, "files_waiting"));

	fprintf(fp, "Last successful ingestion\n");
	fprintf(fp, "  %-16s %-20s %-12s %-20s %s\n", "COMPANY", "CAMPAIGN", "DEVICE", "TIME (UTC)", "FILE");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "last_success"))
		fprintf(fp, "  %-16s %-20s %-12s %-20.19s %s\n", txt(e, "company"), txt(e, "campaign"),
		    txt(e, "device"), txt(e, "time"), txt(e, "file"));

	fprintf(fp, "\nLatest errors\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "latest_errors")) == 0)
		fprintf(fp, "  none\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "latest_errors"))
		fprintf(fp, "  %.19s  %s\n      %s\n", txt(e, "time"), txt(e, "file_path"), txt(e, "error"));

	fprintf(fp, "\nWaiting in the data folder\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "waiting")) == 0)
		fprintf(fp, "  none\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "waiting")) {
		fprintf(fp, "  %s (modified %.0f s ago)\n", txt(e, "file_path"), num(e, "age_s"));
		if (str(e, "reason"))
			fprintf(fp, "      not taken: %s\n", txt(e, "reason"));
	}

	if ((sp = cJSON_GetObjectItemCaseSensitive(st, "spool")) != NULL)
		print_spool(fp, sp);

	fprintf(fp, "\nFolders skipped (cannot be read)\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "skipped_folders")) == 0)
		fprintf(fp, "  none\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "skipped_folders"))
		fprintf(fp, "  %s: %s (%s%.19s)\n", txt(e, "path"), txt(e, "reason"),
		    strcmp(txt(e, "seen"), "now") == 0 ? "" : "last run ", txt(e, "seen"));
}

int
pv_status_prune(const char *report_dir, double days)
{
	DIR *d;
	struct dirent *e;
	time_t limit = time(NULL) - (time_t)(days * 86400);
	int n = 0;

	if ((d = opendir(report_dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *path;
		struct stat sb;
		/* a temporary report left by a run killed while writing it, after a day */
		bool stale_tmp = strncmp(e->d_name, ".tsv_parser_", 12) == 0;
		if ((!(is_report(e->d_name) && days > 0) && !stale_tmp) ||
		    asprintf(&path, "%s/%s", report_dir, e->d_name) < 0)
			continue;
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_mtime < (stale_tmp ? time(NULL) - 86400 : limit) && unlink(path) == 0)
			n++;
		free(path);
	}
	closedir(d);
	return n;
}
