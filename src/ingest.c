/* One file through the pipeline: read → map → encode → sink. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerview/header.h"
#include "powerview/ingest.h"
#include "powerview/config.h"
#include "powerview/lines.h"
#include "powerview/log.h"
#include "powerview/spool.h"
#include "powerview/lp.h"
#include "powerview/timeparse.h"
#include "powerview/tz.h"

void
pv_config_defaults(pv_config *cfg)
{
	cfg->formats = pv_formats_builtin();
	cfg->timezone = pv_settings_default("parser.timezone");
	cfg->scheme = PV_ID_SERIAL;
	cfg->file_name_tag = 1;
	cfg->measurement = "electrical";
	cfg->no_lock = false;
}

const char *
pv_status_name(pv_status s)
{
	switch (s) {
	case PV_STATUS_SUCCESS: return "success";
	case PV_STATUS_PENDING: return "pending";
	case PV_STATUS_SKIPPED: return "skipped";
	default: return "error";
	}
}

void
pv_file_result_init(pv_file_result *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->file_path = strdup(path);
	r->status = PV_STATUS_ERROR;
	r->warnings = cJSON_CreateArray();
	r->fd = -1;
	r->channels_published = -1;
	r->downsampled = -1;
	r->place.dir = r->place.parent = -1;
}

void
pv_file_result_free(pv_file_result *r)
{
	free(r->file_path);
	pv_location_free(&r->loc);
	free(r->error);
	free(r->format_id);
	free(r->timezone);
	free(r->master_sn);
	pv_channels_free(&r->channels);
	cJSON_Delete(r->header_meta);
	cJSON_Delete(r->warnings);
	free(r->destination);
	if (r->fd >= 0)
		close(r->fd); /* releases the lock, after the move */
	pv_place_free(&r->place);
	pv_spool_entry_free(r->spooled);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->place.dir = r->place.parent = -1;
}

void
pv_file_result_warn(pv_file_result *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(r->warnings, cJSON_CreateString(msg));
}

/* The batch of line protocol on its way to the sink. */
typedef struct batch {
	pv_sink *sink;
	char *buf;
	size_t used, cap, lines;
	uint64_t sent; /* lines the sink has taken */
} batch;

static int
batch_flush(batch *b, pv_err *err)
{
	int rc = PV_OK;

	if (b->lines > 0)
		rc = b->sink->ops->write(b->sink, b->buf, b->used, b->lines, err);
	if (rc == PV_OK)
		b->sent += b->lines;
	b->used = b->lines = 0;
	return rc;
}

/* Room for one more line of at most `need` bytes. */
static int
batch_reserve(batch *b, size_t need, pv_err *err)
{
	if (b->used + need > b->sink->batch_bytes && b->lines > 0) {
		int rc = batch_flush(b, err);
		if (rc < 0)
			return rc;
	}
	if (b->used + need > b->cap) {
		size_t cap = b->used + need;
		char *nb = realloc(b->buf, cap);
		if (nb == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		b->buf = nb;
		b->cap = cap;
	}
	return PV_OK;
}

/* A header field, trimmed into buf; NULL when absent or blank. */
static const char *
meta_field(const pv_header *h, const char *key, char *buf, size_t size)
{
	const char *s = pv_header_meta_string(h, key);
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	pv_trim(&s, &n);
	if (n == 0)
		return NULL;
	snprintf(buf, size, "%.*s", (int)n, s);
	return buf;
}

/* The zone of the file: §4 of the data contract. */
static const char *
file_zone(const pv_header *h, const pv_config *cfg, char *buf, size_t size)
{
	const char *s;

	const char *fallback = h->format->timezone ? h->format->timezone : cfg->timezone;

	if (h->format->layout == PV_LAYOUT_PLAIN)
		return fallback;
	if ((s = meta_field(h, "DataTimeSettings", buf, size)) != NULL && strcasecmp(s, "UTC") == 0)
		return "UTC";
	if ((s = meta_field(h, "TimeZone", buf, size)) != NULL)
		return s;
	if ((s = meta_field(h, "TimeZoneName", buf, size)) != NULL)
		return s;
	return fallback;
}

static int
build_prefixes(pv_channels *chs, const pv_config *cfg, const pv_file_result *r,
    const pv_format *fmt, const char *master_sn, pv_err *err)
{
	for (size_t i = 0; i < chs->count; i++) {
		pv_channel *ch = &chs->items[i];
		/* sorted by key, as InfluxDB stores them */
		const pv_tag tags[] = {
			{ "campaign", r->loc.campaign },
			{ "channel_id", ch->id },
			{ "channel_label", ch->label },
			{ "channel_name", ch->name },
			{ "channel_unit", ch->unit },
			{ "device", fmt->device_model },
			{ "device_master_sn", master_sn },
			{ "device_sn", ch->sn },
			{ "device_subtype", ch->master ? chs->subtype : NULL },
			{ "device_type", ch->master ? "master" : "slave" },
			{ "file_name", cfg->file_name_tag ? r->loc.file_name : NULL },
		};
		if (pv_lp_prefix(&ch->lp_prefix, &ch->lp_prefix_len, cfg->measurement, tags,
		    sizeof(tags) / sizeof(tags[0]), ch->field_key) < 0)
			return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	return PV_OK;
}

/* Picks the instant of a wall time; see "Ambiguous wall time" in the contract. */
static bool
place(pv_tz *tz, int64_t wall, bool has_prev, int64_t prev, int64_t *t)
{
	int64_t cand[2];
	int n = pv_tz_resolve(tz, wall, cand);

	if (n == 0)
		return false;
	*t = cand[0];
	if (n == 2 && has_prev && cand[0] <= prev && prev < cand[1])
		*t = cand[1];
	return true;
}

typedef struct ingest {
	pv_file_result *r;
	const pv_config *cfg;
	pv_channels *chs;
	pv_tz *tz;
	batch b;
	bool framed;
	bool has_prev;
	int64_t prev;
} ingest;

/* A valid value of channel ch: the channel's figures, and its line (time `tbuf`) into the batch. */
static int
add_point(ingest *in, pv_channel *ch, const pv_value *v, const char *tbuf, size_t tlen, pv_err *err)
{
	batch *b = &in->b;
	char *p;
	int rc;

	if (ch->nb_points == 0 || v->v < ch->min)
		ch->min = v->v;
	if (ch->nb_points == 0 || v->v > ch->max)
		ch->max = v->v;
	ch->sum += v->v;
	ch->sum_scaled += v->v * 0x1p-64;
	ch->nb_points++;
	in->r->nb_points++;
	if (b->sink == NULL)
		return PV_OK;
	if ((rc = batch_reserve(b, ch->lp_prefix_len + PV_LP_VALUE_MAX + tlen, err)) < 0)
		return rc;
	p = b->buf + b->used;
	memcpy(p, ch->lp_prefix, ch->lp_prefix_len);
	p = pv_lp_value(p + ch->lp_prefix_len, v);
	memcpy(p, tbuf, tlen);
	b->used = (size_t)(p + tlen - b->buf);
	if (++b->lines >= b->sink->batch_lines && (rc = batch_flush(b, err)) < 0)
		return rc;
	return PV_OK;
}

static int
ingest_row(ingest *in, uint64_t lineno, const char *s, size_t n, pv_err *err)
{
	pv_file_result *r = in->r;
	const char *end = s + n, *tab = memchr(s, '\t', n);
	const char *cell = tab ? tab + 1 : end;
	size_t ncells = 1, nchan = in->chs->count;
	int64_t wall, t;
	char tbuf[32];
	size_t tlen = 0;
	bool wrote = false;

	r->nb_rows++;
	if (!pv_timestamp_parse(s, (size_t)((tab ? tab : end) - s), &wall) ||
	    !place(in->tz, wall, in->has_prev, in->prev, &t)) {
		r->nb_invalid_timestamps++;
		pv_debug("%s:%llu: invalid timestamp, row skipped", r->file_path,
		    (unsigned long long)lineno);
		for (const char *p = s; (p = memchr(p, '\t', (size_t)(end - p))) != NULL; p++)
			ncells++;
		if (ncells != nchan + 1)
			r->nb_malformed_rows++;
		return PV_OK;
	}
	in->has_prev = true;
	in->prev = t;
	if (in->b.sink)
		tlen = (size_t)(pv_lp_time(tbuf, t) - tbuf);

	for (size_t i = 0; i < nchan; i++) {
		pv_channel *ch = &in->chs->items[i];
		const char *next = NULL;
		size_t len = 0;
		pv_value v;

		if (tab != NULL) {
			next = memchr(cell, '\t', (size_t)(end - cell));
			len = (size_t)((next ? next : end) - cell);
			ncells++;
		}
		if (tab == NULL || !pv_value_parse(cell, len, &v)) {
			r->nb_invalid_values++;
			pv_debug("%s:%llu: invalid value in column %zu", r->file_path,
			    (unsigned long long)lineno, i + 1);
		} else {
			int rc = add_point(in, ch, &v, tbuf, tlen, err);
			if (rc < 0)
				return rc;
			wrote = true;
		}
		tab = next;
		cell = next ? next + 1 : end;
	}
	if (tab != NULL)
		for (const char *p = cell - 1; (p = memchr(p, '\t', (size_t)(end - p))) != NULL; p++)
			ncells++;
	if (ncells != nchan + 1)
		r->nb_malformed_rows++;
	if (wrote) {
		if (!r->has_time || t < r->time_start)
			r->time_start = t;
		if (!r->has_time || t > r->time_end)
			r->time_end = t;
		r->has_time = true;
	}
	return PV_OK;
}

static int
ingest_rows(ingest *in, pv_lines *l, pv_err *err)
{
	const char *s;
	size_t n;
	int rc;
	bool done = false;

	while ((rc = pv_lines_next(l, &s, &n, err)) == 1) {
		/* after a signal, a file gets a second or so to finish; then it waits for a later run */
		if (pv_stop_overdue(1.0))
			return pv_fail(err, PV_ESTOP, "stopped by signal %d before the end of the file: left in place",
			    pv_stop_signal());
		if (done || pv_line_blank(s, n))
			continue; /* lines after END_DATA are still read: the file must be UTF-8 */
		if (in->framed) {
			const char *m = s;
			size_t mn = n;
			pv_trim(&m, &mn);
			if (mn == 8 && memcmp(m, "END_DATA", 8) == 0) {
				done = true;
				continue;
			}
		}
		if (l->unterminated) {
			/* a cut-off last row: its last cell may be "24" of "242.35" */
			in->r->nb_rows++;
			in->r->nb_malformed_rows++;
			pv_file_result_warn(in->r,
			    "last row cut off (no line break at the end of the file): not ingested");
			continue;
		}
		if ((rc = ingest_row(in, l->lineno, s, n, err)) < 0)
			return rc;
	}
	return rc;
}

/* The file_name tag: the tag-safe rule of pv_lp_tag_unsafe. */
static int
check_file_name(const char *name, pv_err *err)
{
	const char *bad = pv_lp_tag_unsafe(name);

	if (bad != NULL)
		return pv_fail(err, PV_EDATA, "file name has an unsupported character 0x%02X",
		    (unsigned char)*bad);
	return PV_OK;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Another run has the file, or had it: it is that run's to finish. */
static int
lock_file(const pv_file_result *r, int fd, const char *path, pv_err *err)
{
	struct stat now;

	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return pv_fail(err, PV_ENOENT, "%s is being ingested by another run", path);
	/* ... or had it, and moved it away between our open and our lock */
	if (fstatat(r->place.dir, r->place.name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    now.st_ino != r->place.st.st_ino || now.st_dev != r->place.st.st_dev)
		return pv_fail(err, PV_ENOENT, "%s was taken by another run", path);
	return PV_OK;
}

/*
 * The file opened (or the spool's copy `copy_fd` at `copy_path` taken),
 * placed below the data folder, its name checked and, when `lock`, locked.
 * *fd is the file's, or -1, even on failure: the caller closes it.
 */
static int
open_file(int *fd, pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, int copy_fd, const char *copy_path, bool lock, pv_err *err)
{
	int rc;

	*fd = copy_fd;
	if (copy_fd >= 0) {
		/* the spool's own copy: the worker's lock keeps any other run off it */
		r->place.path = strdup(copy_path);
		if (fstat(copy_fd, &r->place.st) < 0)
			return pv_fail(err, PV_EIO, "cannot stat the spool copy %s: %s", copy_path,
			    strerror(errno));
	} else if ((rc = pv_place_open(&r->place, fd, data_dir, path, err)) < 0) {
		/* no link followed below the data folder: a tenant's link reads nothing */
		return rc;
	}
	if ((rc = pv_location_parse(&r->loc, data_dir, path, err)) < 0)
		return rc;
	if (cfg->file_name_tag && (rc = check_file_name(r->loc.file_name, err)) < 0)
		return rc;
	if (lock && copy_fd < 0)
		return lock_file(r, *fd, path, err);
	return PV_OK;
}

/* The header of the file in `fd`: its format, zone and channels, into in->r. */
static int
read_header(ingest *in, pv_header *h, pv_lines *l, int fd, pv_err *err)
{
	pv_file_result *r = in->r;
	char zbuf[256];
	const char *zone;
	int rc;

	if ((rc = pv_lines_init(l, fd)) < 0)
		return pv_fail(err, rc, "out of memory");
	rc = pv_header_read(h, l, in->cfg->formats, err);
	r->format_id = dup_or_null(h->format_id);
	if (rc < 0)
		return rc;
	r->master_sn = strdup(h->master_sn);
	r->nb_channels = h->nchan;
	zone = file_zone(h, in->cfg, zbuf, sizeof(zbuf));
	r->timezone = strdup(zone);
	if ((rc = pv_tz_open(&in->tz, zone, err)) < 0) {
		pv_fail(err, PV_EDATA, "time zone of the header: %s", zone);
		return rc;
	}
	if ((rc = pv_channels_build(&r->channels, h, in->cfg->scheme, err)) < 0)
		return rc;
	if (strcmp(r->loc.device, h->master_sn) != 0)
		pv_file_result_warn(r, "device folder %s differs from the master serial %s in the file",
		    r->loc.device, h->master_sn);
	in->framed = h->format->layout == PV_LAYOUT_FRAMED;
	return PV_OK;
}

/* The sink told a file begins: its lines' prefixes, and where they come from (`source`). */
static int
sink_begin(ingest *in, pv_sink *sink, const pv_header *h, const char *source, pv_err *err)
{
	pv_file_result *r = in->r;
	char *abs_path;
	int rc;

	if ((rc = build_prefixes(&r->channels, in->cfg, r, h->format, h->master_sn, err)) < 0)
		return rc;
	in->b.sink = sink;
	abs_path = pv_path_absolute(source);
	sink->source_path = abs_path;
	sink->source_dev = r->place.st.st_dev;
	sink->source_ino = r->place.st.st_ino;
	rc = sink->ops->begin(sink, r->loc.company, err);
	sink->source_path = NULL;
	free(abs_path);
	return rc;
}

/* What was read is the file's content, and holds a point. */
static int
check_read(pv_file_result *r, int fd, pv_err *err)
{
	int rc;

	/* truncated or rewritten under us: what was read is no file's content */
	if ((rc = pv_place_changed(&r->place, fd, err)) < 0) {
		pv_file_result_warn(r, "%s", err->msg);
		return rc;
	}
	if (r->nb_points == 0)
		return pv_fail(err, PV_EDATA, "no valid point in the file (%llu rows, %llu invalid timestamps, %llu invalid values)",
		    (unsigned long long)r->nb_rows, (unsigned long long)r->nb_invalid_timestamps,
		    (unsigned long long)r->nb_invalid_values);
	return PV_OK;
}
/* What becomes of a file that ended with rc. */
static pv_status
status_of(int rc)
{
	if (rc == PV_OK)
		return PV_STATUS_SUCCESS;
	if (rc == PV_ENOENT)
		return PV_STATUS_SKIPPED;
	if (rc == PV_ETEMP || rc == PV_ENOMEM || rc == PV_EIO || rc == PV_ECONFIG || rc == PV_ESTOP)
		return PV_STATUS_PENDING;
	return PV_STATUS_ERROR;
}

/* The file's outcome (rc) into in->r; a sink that `began` takes back what it can of a failed file. */
static void
end_file(ingest *in, bool began, int rc, const pv_err *err)
{
	pv_file_result *r = in->r;
	pv_sink *sink = in->b.sink;

	/* the text of the points is written: a group of files waiting for its count holds no more of it */
	for (size_t i = 0; i < r->channels.count; i++) {
		free(r->channels.items[i].lp_prefix);
		r->channels.items[i].lp_prefix = NULL;
	}
	if (rc < 0 && began) {
		/* the figures stay those of the file as read; the warning says where its points are */
		if (sink->ops->abort(sink)) {
			if (in->b.sent > 0)
				pv_file_result_warn(r, "%llu points already written were taken back from the output",
				    (unsigned long long)in->b.sent);
		} else if (in->b.sent > 0)
			pv_file_result_warn(r, "up to %llu points were sent before the failure and stay where they went",
			    (unsigned long long)in->b.sent);
	}
	r->status = status_of(rc);
	if (rc < 0)
		r->error = strdup(err->msg);
	r->sent = began;
}

/*
 * Reads `path` (or, from the spool, the copy open in `copy_fd` at
 * `copy_path`, standing for the original `path`) and sends its points.
 */
static int
ingest_file(pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, int copy_fd, const char *copy_path, pv_sink *sink)
{
	ingest in = { .r = r, .cfg = cfg, .chs = &r->channels };
	pv_header h;
	pv_lines l;
	pv_err err = { "" };
	bool began = false;
	int fd, rc;

	memset(&h, 0, sizeof(h));
	memset(&l, 0, sizeof(l));
	if ((rc = open_file(&fd, r, cfg, data_dir, path, copy_fd, copy_path,
	    sink != NULL && !cfg->no_lock, &err)) < 0)
		goto out;
	if ((rc = read_header(&in, &h, &l, fd, &err)) < 0)
		goto out;
	if (sink != NULL) {
		if ((rc = sink_begin(&in, sink, &h, copy_path ? copy_path : path, &err)) < 0)
			goto out;
		began = true;
	}
	if ((rc = ingest_rows(&in, &l, &err)) < 0)
		goto out;
	if ((rc = check_read(r, fd, &err)) < 0)
		goto out;
	if (sink != NULL) {
		if ((rc = batch_flush(&in.b, &err)) < 0)
			goto out;
		if ((rc = sink->ops->commit(sink, &err)) < 0)
			goto out;
	}
	rc = PV_OK;
out:
	end_file(&in, began, rc, &err);
	r->header_meta = h.meta; /* the report shows the framed header as read */
	h.meta = NULL;
	free(in.b.buf);
	pv_tz_free(in.tz);
	pv_header_free(&h);
	pv_lines_free(&l);
	if (fd >= 0 && rc == PV_ENOENT)
		close(fd);
	else
		r->fd = fd; /* closed, and unlocked, once the file is settled */
	return rc;
}

int
pv_ingest_file(pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, pv_sink *sink)
{
	return ingest_file(r, cfg, data_dir, path, -1, NULL, sink);
}

int
pv_ingest_copy(pv_file_result *r, const pv_config *cfg, const char *data_dir,
    const char *path, int fd, const char *copy_path, pv_sink *sink)
{
	return ingest_file(r, cfg, data_dir, path, fd, copy_path, sink);
}
