/*
 * The InfluxDB sinks' write pipeline: a file's bucket made sure of, its
 * batches compressed and queued to the sender thread, posted (a 413 split in
 * halves), every one acknowledged before the file counts as stored.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "powerview/log.h"
#include "influx_int.h"

/* ---- writes ---- */

static int
write_path(influx_sink *f, const char *bucket, pv_err *err)
{
	char *b = pv_http_escape(f->http, bucket), *o = NULL;
	int rc = -1;

	free(f->write_path);
	f->write_path = NULL;
	if (b == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	switch (f->cfg.api) {
	case PV_API_V2:
		/* the org as configured: a name, or an id used as is */
		o = pv_http_escape(f->http, f->cfg.org);
		if (o)
			rc = asprintf(&f->write_path, "/api/v2/write?%s=%s&bucket=%s&precision=s",
			    pv_influx_is_id(f->cfg.org) ? "orgID" : "org", o, b);
		break;
	case PV_API_V1:
		rc = asprintf(&f->write_path, "/write?db=%s&precision=s", b);
		break;
	case PV_API_VM: {
		/* VictoriaMetrics ignores `bucket`: the company becomes the label db, as with /write?db= */
		char *label = NULL, *el = NULL;
		if (asprintf(&label, "db=%s", bucket) >= 0 && (el = pv_http_escape(f->http, label)) != NULL)
			rc = asprintf(&f->write_path, "/api/v2/write?bucket=%s&extra_label=%s&precision=s", b, el);
		free(label);
		free(el);
		break;
	}
	}
	free(b);
	free(o);
	if (rc < 0) {
		f->write_path = NULL;
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	return PV_OK;
}

static int
gzip_into(unsigned char **out, size_t *cap, size_t *outlen, const char *buf, size_t len, pv_err *err)
{
	z_stream z;
	size_t bound = compressBound((uLong)len) + 32;

	if (bound > *cap) {
		unsigned char *g = realloc(*out, bound);
		if (g == NULL)
			return pv_fail(err, PV_ENOMEM, "out of memory");
		*out = g;
		*cap = bound;
	}
	memset(&z, 0, sizeof(z));
	/* level 1: line protocol repeats itself, the fastest level already shrinks it 10-20x */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return pv_fail(err, PV_ENOMEM, "cannot start gzip");
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)*cap;
	int zr = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? PV_OK : pv_fail(err, PV_ENOMEM, "gzip failed");
}

/* Inflates a gzip body of `len` bytes once compressed from `rawlen` bytes; free() the result. */
static char *
gunzip(const unsigned char *gz, size_t len, size_t rawlen)
{
	char *raw = malloc(rawlen + 1);
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (raw == NULL || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(raw);
		return NULL;
	}
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)raw;
	z.avail_out = (uInt)rawlen + 1;
	int zr = inflate(&z, Z_FINISH);
	bool whole = zr == Z_STREAM_END && z.total_out == rawlen;
	inflateEnd(&z);
	if (!whole) {
		free(raw);
		return NULL;
	}
	return raw;
}

/*
 * Posts `nlines` lines of `len` bytes: `buf` is the text (NULL when only `gz`,
 * its compressed form, is at hand), gz NULL compresses here. Splits on 413.
 */
static int
post_lines(influx_sink *f, const char *buf, size_t len, size_t nlines, const unsigned char *gz,
    size_t gzlen, pv_err *err)
{
	pv_http_resp r;
	const void *body = buf;
	size_t blen = len;
	unsigned char *own = NULL;
	size_t owncap = 0;
	int rc;

	if (f->cfg.gzip) {
		if (gz == NULL) {
			if ((rc = gzip_into(&own, &owncap, &gzlen, buf, len, err)) < 0)
				return free(own), rc;
			gz = own;
		}
		body = gz;
		blen = gzlen;
	}
	rc = pv_http_request(f->http, &r, "POST", f->write_path, "text/plain; charset=utf-8",
	    f->cfg.gzip ? "gzip" : NULL, body, blen, err);
	free(own);
	if (rc < 0)
		return rc;
	if (r.status == 204 || r.status == 200) {
		rc = PV_OK;
	} else if (r.status == 413 && nlines > 1) {
		/* too large for the server: halves, on a line boundary */
		char *mine = NULL;
		if (buf == NULL && (buf = mine = gunzip(gz, gzlen, len)) == NULL) {
			pv_http_resp_free(&r);
			return pv_fail(err, PV_ENOMEM, "cannot inflate a batch to split it");
		}
		size_t half = nlines / 2, k = 0, cut = 0;
		while (k < half) {
			const char *nl = memchr(buf + cut, '\n', len - cut);
			cut = (size_t)(nl - buf) + 1;
			k++;
		}
		pv_http_resp_free(&r);
		pv_debug("batch of %zu lines too large for the server: splitting", nlines);
		if ((rc = post_lines(f, buf, cut, half, NULL, 0, err)) == PV_OK)
			rc = post_lines(f, buf + cut, len - cut, nlines - half, NULL, 0, err);
		free(mine);
		return rc;
	} else if (r.status == 400 || r.status == 422 || r.status == 413) {
		char msg[400];
		pv_http_message(&r, msg, sizeof(msg));
		rc = pv_fail(err, PV_EDATA, "refused by the server (HTTP %ld): %s", r.status, msg);
	} else if (r.status == 404) {
		char msg[400];
		pv_http_message(&r, msg, sizeof(msg));
		rc = pv_fail(err, PV_ECONFIG, "write to %s: HTTP 404: %s", f->bucket, msg);
	} else
		rc = influx_status_error(err, "write", &r);
	pv_http_resp_free(&r);
	return rc;
}

void *
influx_sender_main(void *arg)
{
	influx_sink *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->queued == 0 && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->queued == 0 && f->stop)
			break;
		slot *sl = &f->slots[f->head];
		bool skip = f->failed != PV_OK; /* after a failure the file's later batches stay unsent */
		pthread_mutex_unlock(&f->mu);

		pv_err err = { "" };
		int rc = skip ? PV_OK : post_lines(f, f->cfg.gzip ? NULL : sl->raw, sl->rawlen, sl->nlines,
		    f->cfg.gzip ? sl->gz : NULL, sl->gzlen, &err);

		pthread_mutex_lock(&f->mu);
		if (rc < 0 && f->failed == PV_OK) {
			f->failed = rc;
			f->fail_err = err;
		}
		f->head = (f->head + 1) % 2;
		f->queued--;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* Waits for the queue to empty; returns the first failure since the last take. */
int
influx_drain(influx_sink *f, pv_err *err, bool take)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	while (f->queued > 0)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->failed;
	if (rc < 0 && err)
		*err = f->fail_err;
	if (take)
		f->failed = PV_OK;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int
influx_if_begin(pv_sink *s, const char *bucket, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	int rc;

	influx_drain(f, NULL, true);
	if ((rc = influx_ensure_bucket(f, bucket, NULL, err)) < 0)
		return rc;
	free(f->bucket);
	if ((f->bucket = strdup(bucket)) == NULL)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	return write_path(f, bucket, err);
}

int
influx_if_write(pv_sink *s, const char *buf, size_t len, size_t nlines, pv_err *err)
{
	influx_sink *f = (influx_sink *)s;
	slot *sl;
	int rc;

	pthread_mutex_lock(&f->mu);
	while (f->queued == 2 && f->failed == PV_OK)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->failed;
	if (rc < 0)
		*err = f->fail_err;
	pthread_mutex_unlock(&f->mu);
	if (rc < 0)
		return rc;

	/* the free slot is the sender's only once queued: filling it needs no lock */
	pthread_mutex_lock(&f->mu);
	sl = &f->slots[(f->head + f->queued) % 2];
	pthread_mutex_unlock(&f->mu);
	sl->rawlen = len;
	sl->nlines = nlines;
	if (f->cfg.gzip) {
		/* only the compressed form is kept: a 413 split inflates it again */
		if ((rc = gzip_into(&sl->gz, &sl->gzcap, &sl->gzlen, buf, len, err)) < 0)
			return rc;
	} else {
		if (len > sl->rawcap) {
			char *raw = realloc(sl->raw, len);
			if (raw == NULL)
				return pv_fail(err, PV_ENOMEM, "out of memory");
			sl->raw = raw;
			sl->rawcap = len;
		}
		memcpy(sl->raw, buf, len);
	}

	pthread_mutex_lock(&f->mu);
	f->queued++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return PV_OK;
}

int
influx_if_commit(pv_sink *s, pv_err *err)
{
	/* the file is stored once every batch was acknowledged */
	return influx_drain((influx_sink *)s, err, true);
}

bool
influx_if_abort(pv_sink *s)
{
	influx_drain((influx_sink *)s, NULL, true);
	return false; /* written points stay; a rerun overwrites them with the same values */
}
