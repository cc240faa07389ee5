/*
 * The backfill (tsv_parser downsample): each bucket's downsampled copies
 * recomputed from its raw points through the sink's downsample op, level
 * by level, chunk by chunk in time order; the state saved after each chunk
 * so that the same backfill, interrupted, resumes where it stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "powerview/downsample.h"
#include "powerview/influx.h"
#include "powerview/log.h"
#include "powerview/path.h"
#include "powerview/run.h"
#include "powerview/settle.h"
#include "powerview/timeparse.h"

#define DS_BUCKETS_MAX 100000   /* company folders taken from a data folder */
#define DS_STATE_MAX (64 * 1024) /* a state file longer than this is not ours */
#define DS_STATE_KIND "tsv_parser downsample state 1"

/* What a backfill is: its arguments, the state file's identity. */
typedef struct ds_job {
	const char *data;        /* realpath of the data folder */
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
	const pv_downsample_opts *o;
} ds_job;

struct pv_downsample {
	ds_job job;
};

int
pv_downsample_time(int64_t *ns, const char *s, pv_tz *tz)
{
	pv_window w;
	pv_err err;
	int64_t wall;

	if (pv_rfc3339_parse(s, ns))
		return 0;
	if (!pv_date_parse(s, &wall))
		return PV_EDATA;
	if (tz == NULL)
		return 0;
	/* the local day's window starts at its midnight (at the change when midnight is skipped) */
	wall += 43200;
	if (pv_window_at(tz, PV_LEVEL_1D, (wall - pv_tz_offset(tz, wall)) * 1000000000LL, &w, &err) < 0)
		return PV_EDATA;
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

int
pv_downsample_buckets(pv_paths *out, const char *data, pv_err *err)
{
	DIR *d = opendir(data);
	struct dirent *e;
	struct stat st;
	char *path;

	if (d == NULL)
		return pv_fail(err, PV_ENOENT, "data folder %s: %s", data, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || pv_name_problem(e->d_name) != NULL)
			continue;
		if (asprintf(&path, "%s/%s", data, e->d_name) < 0) {
			closedir(d);
			return pv_fail(err, PV_ENOMEM, "out of memory");
		}
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (out->count == DS_BUCKETS_MAX) {
				free(path);
				closedir(d);
				return pv_fail(err, PV_EDATA, "data folder %s: more than %d company folders", data,
				    DS_BUCKETS_MAX);
			}
			if (pv_paths_add(out, e->d_name) < 0) {
				free(path);
				closedir(d);
				return pv_fail(err, PV_ENOMEM, "out of memory");
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

/*
 * Writes the state atomically (temporary file, fsync, rename, fsync of the
 * folder), mode 0600; a failure is a warning (once): the backfill goes on.
 */
static void
ds_state_write(ds_job *j, const char *bucket, pv_level level, int64_t start, int64_t end, int64_t done)
{
	char num[3][24], *tmp = NULL, *text = NULL, *slash;
	cJSON *o = cJSON_CreateObject();
	int fd = -1;
	bool written = false;

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
	if (pv_write_all(fd, text, len) < 0 || pv_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0)
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
	written = true;
out:
	if (!written && !j->state_warned) {
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
}

/*
 * One level of one bucket over [tmin, tmax], chunk by chunk through the
 * sink's downsample op, the state saved after each; from `from` on.
 */
static int
ds_level(ds_job *j, pv_sink *sink, pv_tz *tz, const char *bucket, pv_level level, int64_t tmin,
    int64_t tmax, int64_t from, uint64_t *written)
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
			return rc;
		}
		chunk++;
		if (chunk > total)
			total = chunk;
		if (j->o->progress != NULL) {
			char line[256];
			ds_date(a, tz, w[0].start);
			ds_date(b, tz, w[n - 1].end - 1);
			snprintf(line, sizeof(line), "downsample: %s %s %s .. %s, %zu/%zu chunks", bucket,
			    pv_level_name(level), a, b, chunk, total);
			j->o->progress(line, j->o->progress_arg);
		}
		pv_debug("downsample %s %s: chunk %zu, %zu windows from %" PRId64, bucket, pv_level_name(level),
		    chunk, n, w[0].start);
		rc = sink->ops->downsample(sink, bucket, w[0].start, w[n - 1].end - 1, tz, &level, 1, &fig, &err);
		from = w[n - 1].end;
		free(w);
		if (rc < 0) {
			pv_log_status(NULL);
			pv_error("downsample %s %s: %s", bucket, pv_level_name(level), err.msg);
			return rc;
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
			return PV_ETEMP;
		}
	}
	pv_log_status(NULL);
	return 0;
}

/* One bucket: its range, then each level; 0, or the exit status that stops the backfill. */
static int
ds_bucket(ds_job *j, pv_sink *sink, pv_tz *tz, const char *bucket, const pv_level *levels, size_t nlevels,
    const int64_t *start, const int64_t *end, bool *missing)
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
		return rc;
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
		if ((rc = ds_level(j, sink, tz, bucket, levels[i], tmin, tmax, from, &written)) != 0)
			return rc;
		ds_date(a, tz, tmin);
		ds_date(b, tz, tmax);
		pv_info("downsample %s %s: %" PRIu64 " windows written (%s .. %s)", bucket,
		    pv_level_name(levels[i]), written, a, b);
	}
	return 0;
}

int
pv_downsample_open(pv_downsample **out, const pv_downsample_opts *o, pv_err *err)
{
	pv_downsample *ds = calloc(1, sizeof(*ds));
	ds_job *j;
	char *dir;
	pv_err why;

	*out = NULL;
	if (ds == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	j = &ds->job;
	j->o = o;
	j->data = o->data;
	j->bucket_arg = o->bucket_arg;
	j->start_arg = o->start_arg;
	j->end_arg = o->end_arg;
	for (size_t i = 0; i < o->nlevels; i++)
		snprintf(j->levels + strlen(j->levels), sizeof(j->levels) - strlen(j->levels), "%s%s",
		    i ? "," : "", pv_level_name(o->levels[i]));
	/* the state beside the run reports */
	dir = o->report_dir != NULL && o->report_dir[0] != '\0' ? strdup(o->report_dir) :
	    pv_run_default_report_dir(o->data);
	if (dir == NULL || pv_mkdirs(dir, &why) < 0 ||
	    asprintf(&j->state_path, "%s/%s", dir, PV_DOWNSAMPLE_STATE_NAME) < 0) {
		pv_warn("reports folder %s: %s: the backfill cannot be resumed if interrupted",
		    dir ? dir : "?", dir ? why.msg : strerror(errno));
		j->state_path = NULL;
	}
	free(dir);
	ds_state_read(j);
	if (j->resume)
		pv_info("downsample: resuming the interrupted backfill (%s) at %s %s", j->state_path,
		    j->r_bucket, pv_level_name(j->r_level));
	*out = ds;
	return PV_OK;
}

int
pv_downsample_run(pv_downsample *ds, pv_sink *sink, const pv_paths *buckets)
{
	ds_job *j = &ds->job;
	const pv_downsample_opts *o = j->o;
	bool missing = false;
	int rc = PV_OK;

	for (size_t i = 0; i < buckets->count && rc == PV_OK; i++) {
		rc = ds_bucket(j, sink, o->tz, buckets->items[i], o->levels, o->nlevels, o->start, o->end,
		    &missing);
		/* the state says this bucket is done: a rerun goes on with the next */
		if (rc == PV_OK && pv_stop_signal() != 0 && i + 1 < buckets->count) {
			pv_warn("downsample interrupted by signal %d after bucket %s: the same command resumes "
			    "with the next", pv_stop_signal(), buckets->items[i]);
			rc = PV_ETEMP;
		}
	}
	/* a finished backfill leaves no state */
	if (rc == PV_OK && j->state_path != NULL && unlink(j->state_path) < 0 && errno != ENOENT)
		pv_warn("downsample state %s: %s", j->state_path, strerror(errno));
	return rc == PV_OK && missing ? PV_ENOENT : rc;
}

void
pv_downsample_free(pv_downsample *ds)
{
	if (ds == NULL)
		return;
	free(ds->job.state_path);
	free(ds->job.r_bucket);
	free(ds);
}
