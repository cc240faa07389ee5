/* HTTP through one reused libcurl handle, with retries while a server is unavailable. */
#ifndef POWERVIEW_HTTP_H
#define POWERVIEW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "powerview/common.h"

typedef struct pv_http pv_http;

/*
 * The largest answer read: the API's answers (a page of buckets or
 * authorizations, a count) are a few KiB; a larger one fails the request
 * rather than the memory of the run.
 */
#define PV_HTTP_ANSWER_MAX (1024 * 1024)

/*
 * Seconds a request keeps trying while no connection can be made (refused,
 * no route, name not resolved, connect timeout) and none was made earlier
 * in the run: a server that is down or a wrong URL is told within seconds.
 * Once a connection was made, a server that goes away (a restart) gets the
 * whole retry budget.
 */
#define PV_HTTP_UNREACHED_BUDGET 3.0

typedef struct pv_http_opts {
	const char *base_url;      /* "http://localhost:8086", no trailing slash needed */
	const char *token;         /* sent as "Authorization: Token ..."; never logged */
	const char *userpwd;       /* "user:password" for basic auth, or NULL */
	long connect_timeout_ms;
	long answer_timeout_ms;    /* connected, not a byte either way for this long: no answer (0: none) */
	long timeout_ms;           /* a whole attempt */
	double retry_budget_s;     /* wall time a request may spend trying, from its first attempt */
	double retry_after_max_s;  /* cap on a server's Retry-After */
} pv_http_opts;

typedef struct pv_http_resp {
	long status;   /* HTTP status of the final attempt */
	char *body;    /* NUL-terminated */
	size_t len;
	int attempts;
	bool too_large; /* the answer went past PV_HTTP_ANSWER_MAX */
} pv_http_resp;

int pv_http_open(pv_http **out, const pv_http_opts *o, pv_err *err);
void pv_http_close(pv_http *h);

/*
 * url with its user-info (user, password, options: all before the '@' of
 * the host) replaced by mask: "" drops it, "****@" shows that there was
 * one. libcurl's URL parser finds it, the one requests use; when libcurl
 * cannot be loaded or cannot parse url, all from "://" to the last '@' is
 * replaced, so that no password shows. A URL without '@' is returned as it
 * is, without loading libcurl. free() the result; NULL when out of memory.
 */
char *pv_url_redact(const char *url, const char *mask);

/* Percent-encodes s; free() the result. NULL when out of memory. */
char *pv_http_escape(pv_http *h, const char *s);

/*
 * Sends one request (path and query below the base URL). Connection
 * failures, timeouts and 429/500/502/503/504 are retried with exponential
 * backoff and jitter, honouring Retry-After, within the retry budget; a
 * retry never runs past the budget. An answer timeout is tried again only
 * when another one would still end within the budget; failures to connect
 * before any connection of the run was made get PV_HTTP_UNREACHED_BUDGET.
 * Returns PV_OK with the final status in resp (whatever it is), PV_ETEMP
 * when the server stayed unavailable or its answer was larger than
 * PV_HTTP_ANSWER_MAX (not retried), PV_ENOMEM. Once a request gave up,
 * the server is unavailable for the run: later requests fail at once with
 * PV_ETEMP, without being sent (see pv_http_down).
 */
int pv_http_request(pv_http *h, pv_http_resp *resp, const char *method, const char *path,
    const char *content_type, const char *content_encoding, const void *body, size_t len,
    pv_err *err);
void pv_http_resp_free(pv_http_resp *r);

/* NULL while requests are sent; once one gave up, why (no secret in it). */
const char *pv_http_down(const pv_http *h);

/* True for the statuses worth another attempt. */
bool pv_http_transient(long status);

/* The server's message from a JSON error body ({"message":...} or {"error":...}), else the body. */
void pv_http_message(const pv_http_resp *r, char *buf, size_t size);

#endif
