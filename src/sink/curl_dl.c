#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>

#include "curl_dl.h"

static pv_curl_api api;
static bool loaded;

#define SYM(field, name)                                          \
	do {                                                      \
		*(void **)&api.field = dlsym(lib, name);          \
		if (api.field == NULL)                            \
			goto missing;                             \
	} while (0)

const pv_curl_api *
pv_curl(pv_err *err)
{
	void *lib;

	if (loaded)
		return &api;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		pv_fail(err, PV_ECONFIG, "cannot load libcurl (libcurl.so.4): %s", dlerror());
		return NULL;
	}
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(getdate, "curl_getdate");
	SYM(url, "curl_url");
	SYM(url_set, "curl_url_set");
	SYM(url_get, "curl_url_get");
	SYM(url_cleanup, "curl_url_cleanup");
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		pv_fail(err, PV_ECONFIG, "cannot initialise libcurl");
		return NULL;
	}
	loaded = true;
	return &api;
missing:
	pv_fail(err, PV_ECONFIG, "libcurl.so.4 is too old: %s", dlerror());
	return NULL;
}
