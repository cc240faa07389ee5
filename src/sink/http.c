#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "powerview/http.h"
#include "curl_dl.h"
#include "powerview/log.h"

struct pv_http {
	CURL *curl;
	pv_http_opts o;
	char *base;
	char *shown;         /* base without user:password, for messages */
	char *auth;          /* the Authorization header line */
	char *userpwd;
	bool reached;        /* a connection to the server was made in this run */
	bool down;           /* a request gave up: the server is unavailable for the run */
	pv_err down_why;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
	double retry_after;  /* parsed from the last response, -1 if none */
};

/* libcurl's functions, loaded by the first pv_http_open() */
static const pv_curl_api *C;

/* Without libcurl's parser: whatever lies between "://" and the last '@'. */
static char *
redact_plain(const char *url, const char *mask)
{
	const char *sep = strstr(url, "://"), *from = sep ? sep + 3 : url, *at = strrchr(from, '@');
	char *out;

	if (at == NULL)
		return strdup(url);
	return asprintf(&out, "%.*s%s%s", (int)(from - url), url, mask, at + 1) < 0 ? NULL : out;
}

char *
pv_url_redact(const char *url, const char *mask)
{
	static const CURLUPart creds[] = { CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS };
	const pv_curl_api *c;
	CURLU *u;
	char *part, *bare = NULL, *out = NULL;
	bool had = false;
	pv_err err;

	/* no '@', no user-info: no need to load libcurl */
	if (strchr(url, '@') == NULL)
		return strdup(url);
	if ((c = pv_curl(&err)) == NULL || (u = c->url()) == NULL)
		return redact_plain(url, mask);
	/* the parser of the requests themselves: what it sends as credentials is what is hidden */
	if (c->url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		c->url_cleanup(u);
		return redact_plain(url, mask);
	}
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		if (c->url_get(u, creds[i], &part, 0) == CURLUE_OK) {
			had = true;
			c->free(part);
		}
		c->url_set(u, creds[i], NULL, 0);
	}
	if (!had)
		out = strdup(url); /* the '@' is in the path, query or fragment */
	else if (c->url_get(u, CURLUPART_URL, &bare, 0) == CURLUE_OK) {
		size_t n = strlen(bare);
		/* libcurl adds a '/' for an empty path */
		while (n > 0 && bare[n - 1] == '/')
			bare[--n] = '\0';
		const char *sep = strstr(bare, "://");
		int head = sep ? (int)(sep + 3 - bare) : 0;
		if (asprintf(&out, "%.*s%s%s", head, bare, mask, bare + head) < 0)
			out = NULL;
	} else
		out = redact_plain(url, mask);
	c->free(bare);
	c->url_cleanup(u);
	return out;
}

int
pv_http_open(pv_http **out, const pv_http_opts *o, pv_err *err)
{
	pv_http *h = calloc(1, sizeof(*h));
	size_t n;

	*out = NULL;
	if (C == NULL && (C = pv_curl(err)) == NULL) {
		free(h);
		return PV_ECONFIG;
	}
	if (h == NULL || (h->curl = C->easy_init()) == NULL) {
		free(h);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	h->o = *o;
	h->base = strdup(o->base_url);
	n = h->base ? strlen(h->base) : 0;
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (o->token && asprintf(&h->auth, "Authorization: Token %s", o->token) < 0)
		h->auth = NULL;
	if (o->userpwd)
		h->userpwd = strdup(o->userpwd);
	if (h->base == NULL || (o->token && h->auth == NULL) || (o->userpwd && !h->userpwd)) {
		pv_http_close(h);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	h->shown = pv_url_redact(h->base, "");
	if (h->shown == NULL) {
		pv_http_close(h);
		return pv_fail(err, PV_ENOMEM, "out of memory");
	}
	h->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)h;
	*out = h;
	return PV_OK;
}

void
pv_http_close(pv_http *h)
{
	if (h == NULL)
		return;
	if (h->curl)
		C->easy_cleanup(h->curl);
	free(h->base);
	free(h->shown);
	if (h->auth) {
		/* the token does not linger in freed memory */
		memset(h->auth, 0, strlen(h->auth));
		free(h->auth);
	}
	if (h->userpwd) {
		memset(h->userpwd, 0, strlen(h->userpwd));
		free(h->userpwd);
	}
	free(h);
}

char *
pv_http_escape(pv_http *h, const char *s)
{
	char *e = C->easy_escape(h->curl, s, 0), *copy;

	if (e == NULL)
		return NULL;
	copy = strdup(e);
	C->free(e);
	return copy;
}

bool
pv_http_transient(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool
curl_transient(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* The size of the buffer that holds n bytes: doubling, not a realloc per piece. */
static size_t
room(size_t n)
{
	size_t c = 4096;

	while (c < n)
		c *= 2;
	return c;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	pv_http_resp *r = arg;
	size_t len = size * n;
	char *b = r->body;

	if (len > PV_HTTP_ANSWER_MAX - r->len) {
		r->too_large = true;
		return 0; /* libcurl stops the transfer: CURLE_WRITE_ERROR */
	}
	if ((b == NULL || r->len + len + 1 > room(r->len + 1)) &&
	    (b = realloc(r->body, room(r->len + len + 1))) == NULL)
		return 0;
	memcpy(b + r->len, data, len);
	r->body = b;
	r->len += len;
	b[r->len] = '\0';
	return len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	pv_http *h = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		char v[128];
		size_t k = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;
		char *end;
		memcpy(v, data + 12, k);
		v[k] = '\0';
		double s = strtod(v, &end);
		if (end != v && s >= 0)
			h->retry_after = s;
		else {
			/* an HTTP date */
			time_t t = C->getdate(v, NULL);
			if (t > 0)
				h->retry_after = difftime(t, time(NULL)) > 0 ? difftime(t, time(NULL)) : 0;
		}
	}
	return len;
}

/* One attempt's answer clock: when a byte last moved either way. */
typedef struct answer_clock {
	pv_http *h;
	bool connected;       /* connecting is the connect timeout's, not the answer's */
	curl_off_t moved;     /* bytes sent and received so far */
	struct timespec last; /* when that last changed */
	bool silent;          /* the answer timeout ran out */
} answer_clock;

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * libcurl calls this at least about once a second while a transfer waits.
 * A server that takes the connection and then says nothing ends the attempt
 * after the answer timeout, rather than after the whole attempt's timeout.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	answer_clock *a = arg;
	curl_off_t pre = 0;

	if (a->h->o.answer_timeout_ms <= 0)
		return 0;
	if (!a->connected) {
		/* an older libcurl without the _T times: take the clock as started */
		if (C->easy_getinfo(a->h->curl, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK || pre > 0) {
			a->connected = true;
			a->moved = dlnow + ulnow;
			clock_gettime(CLOCK_MONOTONIC, &a->last);
		}
		return 0;
	}
	if (dlnow + ulnow != a->moved) {
		a->moved = dlnow + ulnow;
		clock_gettime(CLOCK_MONOTONIC, &a->last);
		return 0;
	}
	if (since(&a->last) * 1000 < (double)a->h->o.answer_timeout_ms)
		return 0;
	a->silent = true;
	return 1; /* CURLE_ABORTED_BY_CALLBACK */
}

static double
jitter(pv_http *h)
{
	/* xorshift64*: no need for more than a spread of waits */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return (double)((h->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void
pause_for(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* The handle set for one attempt of `method` on `url`: the headers to free after it. */
static struct curl_slist *
http_setup(pv_http *h, pv_http_resp *resp, answer_clock *clock, const char *method, const char *url,
    const char *content_type, const char *content_encoding, const void *body, size_t len, long limit)
{
	struct curl_slist *hdrs = NULL;
	char line[160];

	h->retry_after = -1;
	h->errbuf[0] = '\0';
	C->easy_reset(h->curl);
	C->easy_setopt(h->curl, CURLOPT_URL, url);
	C->easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
	C->easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	C->easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	C->easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, limit);
	C->easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	C->easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	C->easy_setopt(h->curl, CURLOPT_XFERINFODATA, clock);
	C->easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	/* an announced length past the cap is refused before the body comes */
	C->easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PV_HTTP_ANSWER_MAX);
	C->easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	C->easy_setopt(h->curl, CURLOPT_WRITEDATA, resp);
	C->easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	C->easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	C->easy_setopt(h->curl, CURLOPT_USERAGENT, "tsv_parser/" PV_VERSION);
	if (body != NULL) {
		C->easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		C->easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (strcmp(method, "GET") == 0)
		C->easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	if (h->auth)
		hdrs = C->slist_append(hdrs, h->auth);
	if (h->userpwd) {
		C->easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		C->easy_setopt(h->curl, CURLOPT_USERPWD, h->userpwd);
	}
	/* the list keeps copies: one buffer serves both lines */
	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		hdrs = C->slist_append(hdrs, line);
	}
	if (content_encoding) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", content_encoding);
		hdrs = C->slist_append(hdrs, line);
	}
	hdrs = C->slist_append(hdrs, "Accept: application/json");
	hdrs = C->slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
	C->easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

/*
 * What one attempt gave: PV_OK (an answer to read), a failure to stop at,
 * or 1 when the server is unavailable for now (`why` says how): try again.
 */
static int
http_outcome(pv_http *h, pv_http_resp *resp, CURLcode cc, bool silent, const char *method, const char *path,
    char *why, size_t size, pv_err *err)
{
	if ((cc == CURLE_WRITE_ERROR && resp->too_large) || cc == CURLE_FILESIZE_EXCEEDED) {
		/*
		 * Not the file's fault (PV_EDATA would send it to error/), and
		 * likely not the settings' (PV_ECONFIG stops the run): a proxy's
		 * page, a server in trouble. PV_ETEMP keeps the file for the next
		 * run. Not retried: the same server would answer the same now.
		 */
		C->easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		return pv_fail(err, PV_ETEMP, "%s %s%s: HTTP %ld with an answer larger than %d bytes: not read",
		    method, h->shown, path, resp->status, PV_HTTP_ANSWER_MAX);
	}
	if (cc == CURLE_OK) {
		C->easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		if (!pv_http_transient(resp->status))
			return PV_OK;
		snprintf(why, size, "HTTP %ld", resp->status);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK && silent)
		snprintf(why, size, "no answer within %g s", (double)h->o.answer_timeout_ms / 1000);
	else if (curl_transient(cc))
		snprintf(why, size, "%s", h->errbuf[0] ? h->errbuf : C->easy_strerror(cc));
	else
		return pv_fail(err, PV_ECONFIG, "%s %s%s: %s", method, h->shown, path,
		    h->errbuf[0] ? h->errbuf : C->easy_strerror(cc));
	return 1;
}

/*
 * The wait before attempt `attempt` + 1 (backoff with jitter, or the
 * server's Retry-After), or -1 when it would not fit in the budget (wall
 * time since t0, requests included).
 */
static double
http_next_delay(pv_http *h, int attempt, const struct timespec *t0, bool connected, bool silent)
{
	double delay = fmin(30.0, 0.5 * pow(2.0, attempt)), budget = h->o.retry_budget_s, need;

	delay = delay / 2 + jitter(h) * delay / 2;
	if (h->retry_after >= 0)
		/* never sooner than asked, never longer than the cap, never a busy loop */
		delay = fmax(0.25, fmin(h->retry_after, h->o.retry_after_max_s));
	need = delay;
	/*
	 * Nothing listens, or nothing can be reached, and nothing ever did in
	 * this run: no server restarting mid-run, most likely one that is down
	 * or a wrong URL, which a person at a terminal wants to hear of soon.
	 */
	if (!connected && !h->reached)
		budget = fmin(budget, PV_HTTP_UNREACHED_BUDGET);
	/* a silent server is tried again only when another silence would still fit */
	if (silent)
		need += (double)h->o.answer_timeout_ms / 1000;
	return since(t0) + need > budget ? -1 : delay;
}

int
pv_http_request(pv_http *h, pv_http_resp *resp, const char *method, const char *path,
    const char *content_type, const char *content_encoding, const void *body, size_t len,
    pv_err *err)
{
	char *url = NULL, why[CURL_ERROR_SIZE + 64];
	struct timespec t0;
	int rc = PV_ETEMP;

	memset(resp, 0, sizeof(*resp));
	/* the run already found the server unavailable: one wait per run, not per file */
	if (h->down)
		return pv_fail(err, PV_ETEMP, "database unavailable: not tried (%s)", h->down_why.msg);
	if (asprintf(&url, "%s%s", h->base, path) < 0)
		return pv_fail(err, PV_ENOMEM, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int attempt = 0;; attempt++) {
		struct curl_slist *hdrs;
		answer_clock clock = { .h = h };
		curl_off_t pre = 0;
		long limit = h->o.timeout_ms;
		double delay;
		CURLcode cc;

		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
		resp->status = 0;
		resp->too_large = false;
		resp->attempts = attempt + 1;
		/* a retry never runs past the budget: the request ends within it */
		if (attempt > 0)
			limit = (long)fmin((double)limit, fmax(1.0, (h->o.retry_budget_s - since(&t0)) * 1000));
		hdrs = http_setup(h, resp, &clock, method, url, content_type, content_encoding, body, len, limit);
		cc = C->easy_perform(h->curl);
		C->slist_free_all(hdrs);
		/* 0 when no connection was made: refused, no route, name or TLS failure, connect timeout */
		if (C->easy_getinfo(h->curl, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK)
			pre = 1;
		if (pre > 0)
			h->reached = true;
		if ((rc = http_outcome(h, resp, cc, clock.silent, method, path, why, sizeof(why), err)) <= 0)
			break;
		if ((delay = http_next_delay(h, attempt, &t0, pre > 0, clock.silent)) < 0) {
			rc = pv_fail(err, PV_ETEMP, "%s %s: unavailable after %d attempts (%s)", method,
			    h->shown, attempt + 1, why);
			/* later requests of the run are not sent: a dead server costs one budget per run */
			h->down = true;
			h->down_why = *err;
			break;
		}
		pv_warn("%s %s: %s; retrying in %.1f s", method, h->shown, why, delay);
		pause_for(delay);
	}
	if (rc < 0)
		pv_http_resp_free(resp); /* no answer to read: nothing for the caller to free */
	free(url);
	return rc;
}

const char *
pv_http_down(const pv_http *h)
{
	return h->down ? h->down_why.msg : NULL;
}

void
pv_http_resp_free(pv_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void
pv_http_message(const pv_http_resp *r, char *buf, size_t size)
{
	cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");

	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(m))
		snprintf(buf, size, "%s", m->valuestring);
	else
		snprintf(buf, size, "%.*s", (int)(r->len > 300 ? 300 : r->len), r->body ? r->body : "");
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	cJSON_Delete(j);
}
