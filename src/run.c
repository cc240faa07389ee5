/* A run: ingest and settle each file, then write the report. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "powerview/config.h"
#include "powerview/log.h"
#include "powerview/lp.h"
#include "powerview/path.h"
#include "powerview/publish.h"
#include "powerview/report.h"
#include "powerview/run.h"
#include "powerview/settle.h"
#include "powerview/spool.h"
#include "powerview/status.h"

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
	const cJSON *w;

	if (r->status == PV_STATUS_SKIPPED)
		pv_info("%s: skipped: %s", r->file_path, r->error ? r->error : "");
	else if (r->status == PV_STATUS_SUCCESS)
		pv_info("%s: success, %llu points from %llu rows (%llu invalid timestamps, %llu invalid values)%s%s",
		    r->file_path, (unsigned long long)r->nb_points, (unsigned long long)r->nb_rows,
		    (unsigned long long)r->nb_invalid_timestamps,
		    (unsigned long long)r->nb_invalid_values, r->destination ? " -> " : "",
		    r->destination ? r->destination : "");
	else
		pv_log(r->status == PV_STATUS_ERROR ? PV_LOG_ERROR : PV_LOG_WARNING, "%s: %s: %s%s%s",
		    r->file_path, pv_status_name(r->status), r->error ? r->error : "",
		    r->destination ? " -> " : "", r->destination ? r->destination : "");
	cJSON_ArrayForEach(w, r->warnings)
		pv_warn("%s: %s", r->file_path, w->valuestring);
}

/* parsed/ or error/, by the outcome; a failed move keeps the file for the next run. */
static void
settle(pv_file_result *r, const pv_run_opts *o)
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
	if (r->spooled != NULL) {
		/* the original, when it is still that upload; then the copy goes */
		rc = pv_spool_settle(o->spool, r->spooled, sub, &r->destination, &err);
	} else if (r->place.name == NULL) {
		/* not ours to move: outside the data folder, or only reached through a link */
		pv_file_result_warn(r, "left in place: %s", r->place.dir < 0
		    ? "outside the data folder" : "a symbolic link is never followed or moved");
		return;
	} else {
		rc = pv_settle_move(&r->destination, &r->place, r->fd, sub, &err);
	}
	if (rc == PV_ENOENT) {
		pv_file_result_warn(r, "not moved to %s/: %s", sub, err.msg);
	} else if (rc < 0) {
		free(r->error);
		r->error = strdup(err.msg);
		r->status = PV_STATUS_PENDING;
	}
}

/*
 * The database gave up earlier in the run (see pv_http_request): the file is
 * neither read nor sent; it stays where it is for the next run.
 */
static int
not_tried(pv_file_result *r, const pv_run_opts *o, const char *why)
{
	pv_err err;

	/* where it belongs, for the report: lexical, nothing is opened */
	if (pv_location_parse(&r->loc, o->data_dir, r->file_path, &err) < 0)
		pv_location_free(&r->loc);
	r->status = PV_STATUS_PENDING;
	if (asprintf(&r->error, "database unavailable: not tried (%s)", why) < 0)
		r->error = NULL;
	return PV_ETEMP;
}

/* A spool copy, read as its original's upload. */
static int
take_copy(pv_file_result *r, const pv_run_opts *o)
{
	pv_err err = { "" };
	char *abs = NULL;
	struct stat st;
	int fd, rc;

	if ((rc = pv_spool_open_copy(o->spool, r->spooled, &fd, &abs, &err)) < 0) {
		r->status = rc == PV_ENOENT ? PV_STATUS_SKIPPED : PV_STATUS_PENDING;
		r->error = strdup(err.msg);
		return rc;
	}
	/* a crash before the copy reached the disk: the original, in place, is spooled again */
	if (fstat(fd, &st) == 0 && (long long)st.st_size != r->spooled->id.size) {
		if (asprintf(&r->error, "the spool copy %s is damaged (%lld bytes, the upload had %lld): "
		    "removed; the original waits for the next scan", abs ? abs : r->spooled->copy,
		    (long long)st.st_size, r->spooled->id.size) < 0)
			r->error = NULL;
		r->status = PV_STATUS_SKIPPED;
		close(fd);
		free(abs);
		pv_spool_drop(o->spool, r->spooled);
		return PV_ENOENT;
	}
	rc = pv_ingest_copy(r, &o->cfg, o->data_dir, r->file_path, fd, abs, o->sink);
	free(abs);
	return rc;
}

/* How many files the run has to take: counted once (the spool's, a walk over it). */
static size_t
to_take(const pv_run_opts *o)
{
	size_t n = 0;
	pv_err err;

	if (o->spool != NULL && pv_spool_count(o->spool, &n, &err) < 0)
		n = 0;
	return n + (o->files != NULL ? pv_walk_total(o->files) : 0);
}

/*
 * Files taken and not yet settled, in order. Counting a file's points back
 * is one query per group of files rather than one per file: a group is the
 * files of one company, campaign and master serial, each with its own name
 * (the query counts by file_name), up to GROUP_FILES of them. Files that
 * need no count (errors, pending, skipped) wait in the group too, so the
 * report keeps the order of the run. Every file keeps its lock and its
 * folders open until it is moved, after the count: a file goes to parsed/
 * only once the database acknowledged its points (in ingest), and the count
 * is a check whose shortfall is a warning. A run killed meanwhile leaves up
 * to a group of files in place; the next run sends them again, the same
 * series and seconds, which the database stores once.
 */
#define GROUP_FILES 100
#define GROUP_CHANNELS 10000 /* all files of a group together: bounds the memory held */

typedef struct group {
	pv_file_result r[GROUP_FILES];
	int rc[GROUP_FILES];
	size_t n, max, nchannels;
	pv_count_query q[GROUP_FILES];
	uint64_t count[GROUP_FILES];
	size_t which[GROUP_FILES]; /* q[k] is the file r[which[k]] */
} group;

/* Whether the file's points are to be counted back. */
static bool
to_count(int rc, const pv_run_opts *o)
{
	return rc == PV_OK && !o->dry_run && o->verify && o->sink->ops->count != NULL;
}

/* How many files a group may hold: three descriptors each (file, folder, parent) stay open. */
static size_t
group_max(const pv_run_opts *o)
{
	struct rlimit nofile;
	size_t max = GROUP_FILES;

	/*
	 * Nothing to count, or a sink that must hear of each file settled before
	 * the next begins (the file sink's lock and journal): one file at a time.
	 */
	if (!to_count(PV_OK, o) || o->sink->ops->settled != NULL)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY)
		max = nofile.rlim_cur > 64 + 3 ? (size_t)(nofile.rlim_cur - 64) / 3 : 1;
	return max < GROUP_FILES ? max : GROUP_FILES;
}

/* Whether file r may join the group, else the group is finished first. */
static bool
joins(const group *g, const pv_file_result *r, int rc, const pv_run_opts *o)
{
	const pv_file_result *key = NULL;

	if (g->n == 0)
		return true;
	if (g->nchannels + r->channels.count > GROUP_CHANNELS)
		return false;
	if (!to_count(rc, o))
		return true;
	for (size_t i = 0; i < g->n; i++) {
		if (!to_count(g->rc[i], o))
			continue;
		/* without the file_name tag nothing tells the files apart: one a query */
		if (!o->cfg.file_name_tag)
			return false;
		if (key == NULL) {
			key = &g->r[i];
			if (strcmp(key->loc.company, r->loc.company) != 0 ||
			    strcmp(key->loc.campaign, r->loc.campaign) != 0 ||
			    strcmp(key->master_sn, r->master_sn) != 0)
				return false;
		}
		if (strcmp(g->r[i].loc.file_name, r->loc.file_name) == 0)
			return false;
	}
	return true;
}

/* Asks the database how many points of each file of the group it holds; a shortfall is a warning. */
static void
verify(group *g, const pv_run_opts *o)
{
	pv_sink *s = o->sink;
	pv_err err = { "" };
	size_t k = 0;

	for (size_t i = 0; i < g->n; i++) {
		const pv_file_result *r = &g->r[i];
		if (!to_count(g->rc[i], o))
			continue;
		g->q[k] = (pv_count_query){
			.bucket = r->loc.company,
			.measurement = o->cfg.measurement,
			.campaign = r->loc.campaign,
			.master_sn = r->master_sn,
			.file_name = o->cfg.file_name_tag ? r->loc.file_name : NULL,
			.start = r->time_start,
			.end = r->time_end,
		};
		g->which[k++] = i;
	}
	if (k == 0)
		return;
	/* a signal: the count is a check and the points are stored; the files are settled at once */
	if (pv_stop_signal() != 0)
		snprintf(err.msg, sizeof(err.msg), "the run was stopped");
	if (err.msg[0] != '\0' || s->ops->count(s, g->q, k, g->count, &err) < 0) {
		for (size_t j = 0; j < k; j++)
			pv_file_result_warn(&g->r[g->which[j]], "could not count the points back: %s", err.msg);
		return;
	}
	for (size_t j = 0; j < k; j++) {
		pv_file_result *r = &g->r[g->which[j]];
		r->nb_points_in_influx = g->count[j];
		r->verified = true;
		if (r->nb_points_in_influx < r->nb_points)
			pv_file_result_warn(r,
			    "%llu points written, %llu found in the database (rows repeating a timestamp collapse; "
			    "a retention period shorter than the data drops it)",
			    (unsigned long long)r->nb_points, (unsigned long long)r->nb_points_in_influx);
	}
}

static void summary_file(FILE *, const cJSON *);
static void add_to_totals(pv_run_totals *, const pv_file_result *, const struct timespec *);

/* Where the files of a finished group go. */
typedef struct settling {
	pv_report_writer *w;  /* the report */
	FILE *sum;            /* the run summary's file lines */
	pv_run_totals *totals; /* the counts, and the progress */
	const struct timespec *t0;
	const pv_run_opts *o;
} settling;

/* Its channels to the configuration service: a failure is a warning, the file stays a success. */
static void
publish(pv_file_result *r, const pv_run_opts *o)
{
	pv_err err = { "" };
	size_t n = 0;

	if (pv_publish_channels(o->publisher, r, &n, &err) < 0) {
		r->channels_published = -2;
		pv_file_result_warn(r, "channels not published to the config API: %s", err.msg);
		return;
	}
	r->channels_published = (long long)n;
	if (n > 0)
		pv_debug("%s: %zu channels published to the config API", r->file_path, n);
}

/* Files whose ranges are this close (seconds) are downsampled as one range. */
#define DS_MERGE_GAP 86400

static bool
to_downsample(const group *g, size_t i, const pv_run_opts *o)
{
	const pv_file_result *r = &g->r[i];

	return !o->dry_run && o->nlevels > 0 && o->downsample_tz != NULL && o->sink->ops->downsample != NULL &&
	    r->status == PV_STATUS_SUCCESS && g->rc[i] == PV_OK && r->has_time && r->loc.company != NULL;
}

/* qsort_r: the files of group `arg` by company, then first point */
static int
ds_cmp(const void *a, const void *b, void *arg)
{
	const group *g = arg;
	const pv_file_result *x = &g->r[*(const size_t *)a], *y = &g->r[*(const size_t *)b];
	int c = strcmp(x->loc.company, y->loc.company);

	return c != 0 ? c : (x->time_start > y->time_start) - (x->time_start < y->time_start);
}

/* The file's own figure: the windows of each level its points touch. */
static void
ds_figure(pv_file_result *r, const pv_run_opts *o)
{
	r->downsample.n = 0;
	for (size_t l = 0; l < o->nlevels; l++) {
		size_t n = 0;
		pv_err err = { "" };

		if (pv_windows_count(o->downsample_tz, o->levels[l], r->time_start * 1000000000LL,
		    r->time_end * 1000000000LL, &n, &err) < 0)
			n = 0; /* the op did them: a time out of the zone's range cannot be here */
		r->downsample.levels[r->downsample.n] = o->levels[l];
		r->downsample.windows[r->downsample.n++] = n;
	}
	r->downsampled = 0;
}

/*
 * The windows the group's delivered files touch, recomputed in the
 * downsampled databases before the files move (a run killed meanwhile
 * leaves them, and their next run redoes it). One call of the sink's op per
 * company and stretch of time (files less than a day apart merge): a run
 * of many small files costs a few queries, not a few per file. A failure
 * is a warning on each file of that stretch, which stays a success; the
 * next file or run touching those windows, or `tsv_parser downsample`,
 * redoes them.
 */
static void
downsample_group(group *g, const pv_run_opts *o)
{
	size_t idx[GROUP_FILES], n = 0;

	if (pv_stop_signal() != 0)
		return;
	for (size_t i = 0; i < g->n; i++)
		if (to_downsample(g, i, o))
			idx[n++] = i;
	qsort_r(idx, n, sizeof(idx[0]), ds_cmp, g);
	for (size_t a = 0, b; a < n; a = b) {
		const pv_file_result *first = &g->r[idx[a]];
		int64_t tmin = first->time_start, tmax = first->time_end;
		pv_downsample_figure fig;
		pv_err err = { "" };
		int rc;

		for (b = a + 1; b < n; b++) {
			const pv_file_result *r = &g->r[idx[b]];
			if (strcmp(r->loc.company, first->loc.company) != 0 || r->time_start > tmax + DS_MERGE_GAP)
				break;
			if (r->time_end > tmax)
				tmax = r->time_end;
		}
		rc = o->sink->ops->downsample(o->sink, first->loc.company, tmin * 1000000000LL, tmax * 1000000000LL,
		    o->downsample_tz, o->levels, o->nlevels, &fig, &err);
		for (size_t k = a; k < b; k++) {
			pv_file_result *r = &g->r[idx[k]];
			if (rc == 1)
				continue; /* this sink does not downsample: no figure */
			if (rc < 0) {
				r->downsampled = -2;
				pv_file_result_warn(r, "not downsampled: %s", err.msg);
			} else
				ds_figure(r, o);
		}
	}
}

/* The group's count, then each file in order: settled, logged, reported, closed. */
static void
finish(group *g, const settling *c)
{
	const pv_run_opts *o = c->o;

	verify(g, o);
	/* before the moves: a run killed meanwhile leaves the files, whose next run redoes it */
	downsample_group(g, o);
	for (size_t i = 0; i < g->n; i++) {
		pv_file_result *r = &g->r[i];
		bool delivered = r->status == PV_STATUS_SUCCESS;
		cJSON *f;

		if (!o->dry_run && g->rc[i] != PV_ECONFIG)
			settle(r, o);
		if (!o->dry_run && o->publisher != NULL && r->status == PV_STATUS_SUCCESS)
			publish(r, o);
		/* a file that stays (its move failed) must not leave its lines twice in an output */
		if (r->sent && o->sink->ops->settled != NULL &&
		    o->sink->ops->settled(o->sink, r->status == PV_STATUS_SUCCESS) && delivered &&
		    r->status != PV_STATUS_SUCCESS)
			pv_file_result_warn(r,
			    "%llu points already written were taken back from the output",
			    (unsigned long long)r->nb_points);
		log_file(r);
		if ((f = pv_report_file(r)) == NULL)
			c->w->failed = true;
		if (c->w->fp != NULL && f != NULL)
			pv_report_add(c->w, f);
		if (f != NULL)
			summary_file(c->sum, f);
		cJSON_Delete(f);
		add_to_totals(c->totals, r, c->t0);
		if (o->progress != NULL)
			o->progress(c->totals, o->progress_arg);
		pv_file_result_free(r);
	}
	g->n = 0;
	g->nchannels = 0;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * The run summary of the original: one tsv_parser_file point per file,
 * written to a temporary file as the run goes (memory does not grow with
 * the files), and one tsv_parser_run point, in the meta bucket.
 */
static void
summary_file(FILE *tmp, const cJSON *f)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "file_path");
	const char *slash = cJSON_IsString(path) ? strrchr(path->valuestring, '/') : NULL;
	/* sorted by key; a folder name may hold what no tag can: such bytes as '_' */
	const pv_tag tags[] = {
		{ "bucket", str(f, "bucket") },
		{ "campaign", str(f, "campaign") },
		{ "device_master_sn", str(f, "device_master_sn") },
		{ "file_name", slash ? slash + 1 : cJSON_IsString(path) ? path->valuestring : "" },
		{ "status", str(f, "status") },
	};
	const size_t ntags = sizeof(tags) / sizeof(tags[0]);
	char line[4096], *p = line;
	size_t left = sizeof(line), n;

	if (tmp == NULL)
		return;
	n = strlen("tsv_parser_file");
	if (n + pv_lp_tags_len(tags, ntags) >= left)
		return; /* a name too long for a summary line: leave the file out */
	memcpy(p, "tsv_parser_file", n);
	p = pv_lp_tags(p + n, tags, ntags, PV_LP_TAG_SAFE);
	left -= (size_t)(p - line);
	n = (size_t)snprintf(p, left,
	    " nb_channels=%.0fi,nb_invalid_timestamps=%.0fi,nb_invalid_values=%.0fi,"
	    "nb_malformed_rows=%.0fi,nb_points=%.0fi,nb_rows=%.0fi %lld\n",
	    num(f, "nb_channels"), num(f, "nb_invalid_timestamps"), num(f, "nb_invalid_values"),
	    num(f, "nb_malformed_rows"), num(f, "nb_points"), num(f, "nb_rows"), (long long)time(NULL));
	if (n < left)
		fwrite(line, 1, (size_t)(p - line) + n, tmp);
}

/* Sends the run's point, then the files' points read back in batches. Only a warning on failure. */
static void
write_summary(const pv_run_opts *o, const pv_run *run, FILE *tmp)
{
	pv_sink *s = o->sink;
	char *buf = NULL, *base = NULL;
	/* small batches: the summary of 300 or 300 000 files takes the same memory */
	size_t cap = 64 * 1024, used, nlines;
	pv_err err = { "" };
	int rc = PV_ENOMEM;
	cJSON *b = pv_json_string(run->base_folder);

	/* base_folder is a string field: only " and \ are escaped there, as UTF-8 */
	if (tmp == NULL || b == NULL || (buf = malloc(cap)) == NULL ||
	    (base = malloc(2 * strlen(b->valuestring) + 1)) == NULL)
		goto out;
	pv_lp_string(base, b->valuestring, 4000);
	used = (size_t)snprintf(buf, cap, "tsv_parser_run,status=%s base_folder=\"%.4000s\","
	    "duration_s=%.6f,nb_files_failed=%llui,nb_files_pending=%llui,nb_files_success=%llui,"
	    "nb_files_total=%llui,nb_points_total=%llui %lld\n",
	    pv_report_status(run), base, run->duration_s, (unsigned long long)run->nb_files_failed,
	    (unsigned long long)run->nb_files_pending, (unsigned long long)run->nb_files_success,
	    (unsigned long long)run->nb_files_total, (unsigned long long)run->nb_points_total,
	    (long long)time(NULL));
	if ((rc = s->ops->begin(s, s->meta_bucket, &err)) < 0)
		goto out;
	rewind(tmp);
	/* whole lines, a batch at a time: each line is shorter than 4 KiB */
	for (;;) {
		size_t got = fread(buf + used, 1, cap - used - 4096, tmp), keep = 0;
		used += got;
		if (got > 0 && buf[used - 1] != '\n') {
			char *nl = memrchr(buf, '\n', used);
			keep = used - (size_t)(nl + 1 - buf);
		}
		nlines = 0;
		for (size_t i = 0; i < used - keep; i++)
			nlines += buf[i] == '\n';
		if (nlines > 0 && (rc = s->ops->write(s, buf, used - keep, nlines, &err)) < 0)
			goto out;
		memmove(buf, buf + used - keep, keep);
		used = keep;
		if (got == 0)
			break;
	}
	rc = s->ops->commit(s, &err);
out:
	if (rc < 0) {
		if (rc != PV_ENOMEM)
			s->ops->abort(s);
		pv_warn("cannot write the run summary to %s: %s", s->meta_bucket,
		    err.msg[0] ? err.msg : pv_rc_name(rc));
	}
	cJSON_Delete(b);
	free(base);
	free(buf);
}

/* The running totals, one file more. */
static void
add_to_totals(pv_run_totals *t, const pv_file_result *r, const struct timespec *t0)
{
	struct timespec now;

	/* a file that came after the count is one more to take */
	if (++t->nb_done > t->nb_files)
		t->nb_files = t->nb_done;
	if (r->status == PV_STATUS_SUCCESS) {
		t->nb_success++;
		t->nb_points += r->nb_points;
	} else if (r->status == PV_STATUS_ERROR)
		t->nb_error++;
	else if (r->status == PV_STATUS_PENDING)
		t->nb_pending++;
	else
		t->nb_skipped++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t->elapsed_s = seconds_between(t0, &now);
}

/* The end of the report: the folders the scan could not read, and what it did not take. */
static cJSON *
report_passed(const pv_passed_list *passed)
{
	cJSON *more = cJSON_CreateObject();
	cJSON *skipped = cJSON_AddArrayToObject(more, "skipped_folders");
	cJSON *not_taken = cJSON_AddArrayToObject(more, "not_taken");

	for (size_t i = 0; passed != NULL && i < passed->count; i++) {
		const pv_passed *p = &passed->items[i];
		cJSON *e;

		if (p->kind == PV_PASSED_IN_FOLDER)
			continue; /* its folder's entry counts it */
		e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "path", pv_json_string(p->path));
		cJSON_AddItemToObject(e, "reason", pv_json_string(p->reason));
		if (p->kind == PV_PASSED_FOLDER)
			cJSON_AddNumberToObject(e, "nb_files", (double)p->nb_files);
		cJSON_AddItemToArray(p->kind == PV_PASSED_UNREADABLE ? skipped : not_taken, e);
	}
	/* past the notes kept: how many more there were */
	if (passed != NULL && passed->not_listed > 0)
		cJSON_AddNumberToObject(more, "nb_not_listed", (double)passed->not_listed);
	return more;
}

/* Where the report goes: the stream of a dry run, else a temporary file beside the reports. */
static void
report_open(pv_report_writer *w, pv_atomic *a, char **dir, const pv_run_opts *o, const pv_run *run,
    size_t nb_files)
{
	char name[128];
	pv_err err = { "" };

	memset(a, 0, sizeof(*a));
	*dir = NULL;
	if (o->report_stream != NULL) {
		pv_report_begin(w, o->report_stream, run);
		return;
	}
	/* like the original, a run that found nothing leaves no report */
	if (o->dry_run || nb_files == 0) {
		pv_report_begin(w, NULL, run);
		return;
	}
	*dir = o->report_dir && o->report_dir[0] ? strdup(o->report_dir)
	    : pv_run_default_report_dir(o->data_dir);
	pv_report_file_name(name, sizeof(name), run->run_id);
	if (*dir == NULL || pv_settle_open_atomic(a, *dir, name, &err) < 0) {
		pv_error("cannot write the run report: %s", err.msg[0] ? err.msg : "out of memory");
		pv_report_begin(w, NULL, run);
		w->failed = true;
		return;
	}
	pv_report_begin(w, a->fp, run);
}

/* The run's identity and clock, before its first file. */
static void
run_begin(pv_run *run, struct timespec *t0, const pv_run_opts *o)
{
	memset(run, 0, sizeof(*run));
	now_iso(run->run_id, sizeof(run->run_id));
	now_iso(run->start_time, sizeof(run->start_time));
	clock_gettime(CLOCK_MONOTONIC, t0);
	run->base_folder = o->data_dir;
	run->dry_run = o->dry_run;
}

#define NEXT_AGAIN 2 /* the spool took more copies meanwhile: look again */

/*
 * The next file to take into *path (*entry: the spool's copy, or NULL):
 * the files given first, then the spool's copies. 1, 0 at the end,
 * NEXT_AGAIN, or a pv_rc.
 */
static int
next_file(const char **path, pv_spool_entry **entry, bool *files_done, group *g, const settling *c,
    pv_err *err)
{
	const pv_run_opts *o = c->o;
	int next = 0;

	*entry = NULL;
	if (o->files != NULL && !*files_done && (next = pv_walk_next(o->files, path, err)) == 0)
		*files_done = true;
	if (next == 0 && o->spool != NULL) {
		next = pv_spool_next(o->spool, entry, err);
		if (next == 0) {
			/* every copy taken is settled before the worker's lock goes */
			finish(g, c);
			if ((next = pv_spool_again(o->spool, err)) > 0)
				return NEXT_AGAIN;
		}
		*path = *entry != NULL ? (*entry)->path : NULL;
	}
	return next;
}

/* One file through ingest into r, which owns `entry`: read and sent, unless the database gave up. */
static int
take_file(pv_file_result *r, const pv_run_opts *o, const char *path, pv_spool_entry *entry)
{
	const char *down = o->dry_run || o->sink->ops->unavailable == NULL ? NULL :
	    o->sink->ops->unavailable(o->sink);

	pv_file_result_init(r, path);
	r->spooled = entry;
	if (down != NULL)
		return not_tried(r, o, down);
	if (r->spooled != NULL)
		return take_copy(r, o);
	return pv_ingest_file(r, &o->cfg, o->data_dir, path, o->sink);
}

/* The group takes r over, once finished when r cannot join it. */
static void
group_add(group *g, const pv_file_result *r, int rc, const settling *c)
{
	if (!joins(g, r, rc, c->o))
		finish(g, c);
	g->nchannels += r->channels.count;
	g->rc[g->n] = rc;
	g->r[g->n++] = *r;
}

/* The run's clock stopped, and its figures: the totals. */
static void
run_end(pv_run *run, pv_run_outcome *out, const struct timespec *t0, bool walked_all)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	now_iso(run->end_time, sizeof(run->end_time));
	run->duration_s = seconds_between(t0, &t1);
	out->totals.elapsed_s = run->duration_s;
	out->interrupted = run->interrupted;
	/* a walk that ran to its end took every file there was (some went since the count) */
	if (walked_all)
		out->totals.nb_files = out->totals.nb_done;
	/* the report's figures are the totals; a file another run holds, or took, is that run's to count */
	run->nb_files_total = out->totals.nb_done - out->totals.nb_skipped;
	run->nb_files_success = out->totals.nb_success;
	run->nb_files_failed = out->totals.nb_error;
	run->nb_files_pending = out->totals.nb_pending;
	run->nb_points_total = out->totals.nb_points;
}

/* The report ended, then committed under its name (out->report_path) unless it failed. */
static void
report_close(pv_report_writer *w, pv_atomic *a, const pv_run *run, pv_run_outcome *out, const pv_run_opts *o)
{
	cJSON *more = report_passed(o->passed);

	if (w->fp != NULL && pv_report_end(w, run, more) < 0)
		w->failed = true;
	cJSON_Delete(more);
	if (a->fp != NULL) {
		pv_err werr = { "" };
		if (w->failed) {
			pv_settle_abort_atomic(a);
		} else if (asprintf(&out->report_path, "%s", a->final) < 0 ||
		    pv_settle_commit_atomic(a, &werr) < 0) {
			pv_error("cannot write the run report: %s", werr.msg[0] ? werr.msg : "out of memory");
			free(out->report_path);
			out->report_path = NULL;
			w->failed = true;
		} else
			pv_info("run report written to %s", out->report_path);
	}
	out->report_failed = w->failed;
}

/* Reports are never allowed to fill the disk. */
static void
report_prune(const char *dir, const pv_run_opts *o)
{
	int pruned = pv_status_prune(dir, pv_settings_num(o->settings, "reports.keep_days"));

	if (pruned > 0)
		pv_info("%d old run reports or leftover temporary reports removed from %s", pruned, dir);
}

/*
 * Takes the files, one by one into groups, each finished in turn; stops at
 * a signal, or at an answer that awaits every other file.
 */
static int
take_files(group *g, const settling *c, pv_run *run, bool *walked_all, pv_err *err)
{
	const pv_run_opts *o = c->o;
	bool files_done = false;
	int rc = PV_OK, next = 1;

	for (;;) {
		pv_file_result r;
		pv_spool_entry *entry;
		const char *path;

		/* a signal: the files not begun are left for the next run */
		if (pv_stop_signal() != 0) {
			run->interrupted = true;
			break;
		}
		if ((next = next_file(&path, &entry, &files_done, g, c, err)) == NEXT_AGAIN)
			continue;
		if (next <= 0) {
			rc = next;
			break;
		}
		rc = take_file(&r, o, path, entry);
		group_add(g, &r, rc, c); /* the group owns it now */
		if (rc == PV_ESTOP)
			run->interrupted = true;
		if (rc == PV_ECONFIG || rc == PV_ENOMEM || rc == PV_ESTOP) {
			/* the same answer awaits every other file: stop, move nothing more */
			pv_fail(err, rc, "run stopped: %s", r.error ? r.error : pv_rc_name(rc));
			break;
		}
		if (g->n >= g->max)
			finish(g, c);
		rc = PV_OK;
	}
	finish(g, c);
	*walked_all = next == 0;
	return rc;
}

int
pv_run_files(pv_run_outcome *out, const pv_run_opts *o, pv_err *err)
{
	pv_run run;
	pv_report_writer w;
	pv_atomic atomic;
	struct timespec t0;
	char *dir;
	bool summary = !o->dry_run && o->sink && o->sink->meta_bucket;
	FILE *sum = summary ? tmpfile() : NULL;
	group *g = calloc(1, sizeof(*g));
	settling ctx;
	bool walked_all;
	int rc;

	memset(out, 0, sizeof(*out));
	if (g == NULL) {
		if (sum != NULL)
			fclose(sum);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	g->max = group_max(o);
	out->totals.nb_files = to_take(o);
	run_begin(&run, &t0, o);
	pv_passed_log(o->passed);
	report_open(&w, &atomic, &dir, o, &run, out->totals.nb_files);
	ctx = (settling){ .w = &w, .sum = sum, .totals = &out->totals, .t0 = &t0, .o = o };

	rc = take_files(g, &ctx, &run, &walked_all, err);
	free(g);
	run_end(&run, out, &t0, walked_all);

	if (summary && out->totals.nb_files > 0 && rc != PV_ECONFIG)
		write_summary(o, &run, sum);
	if (sum != NULL)
		fclose(sum);
	report_close(&w, &atomic, &run, out, o);
	if (dir != NULL) {
		report_prune(dir, o);
		free(dir);
	}
	return rc;
}

void
pv_run_outcome_free(pv_run_outcome *out)
{
	free(out->report_path);
	memset(out, 0, sizeof(*out));
}
