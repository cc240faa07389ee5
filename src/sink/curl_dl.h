/*
 * libcurl, loaded when the first request is made. Linking it costs every
 * start of tsv_parser about 6 ms (OpenSSL and the rest of its dependencies),
 * a price a dry run or a file-sink run should not pay; the calls go through
 * this table instead.
 */
#ifndef POWERVIEW_CURL_DL_H
#define POWERVIEW_CURL_DL_H

#include <curl/curl.h>

#include "powerview/common.h"

typedef struct pv_curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	time_t (*getdate)(const char *, const time_t *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
} pv_curl_api;

/* The loaded table, or NULL with the reason in err (libcurl not installed). */
const pv_curl_api *pv_curl(pv_err *err);

#endif
