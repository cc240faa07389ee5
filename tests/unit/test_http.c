/*
 * The HTTP layer's URL redaction (pv_url_redact): the user-info of a URL,
 * whatever it holds, never shows, in tsv_parser config (mask "****@") and
 * in messages (mask "").
 */
#include "pv_test.h"

#include "powerview/http.h"

static const struct {
	const char *url, *secret; /* secret: what must not show */
	const char *masked, *dropped;
} cases[] = {
	{ "http://u:pw-plain@host:8086", "pw-plain", "http://****@host:8086", "http://host:8086" },
	/* an '@', '/', '?' or '#' in the password: not a URL libcurl takes; the fallback masks to the last '@' */
	{ "http://u:p@ss-at@host", "ss-at", "http://****@host", "http://host" },
	{ "http://u:pa/ss-slash@host", "ss-slash", "http://****@host", "http://host" },
	{ "http://u:pa?ss-query@host", "ss-query", "http://****@host", "http://host" },
	{ "http://u:pa#ss-hash@host", "ss-hash", "http://****@host", "http://host" },
	{ "http://u:%40x-enc@host", "x-enc", "http://****@host", "http://host" },
	{ "http://u:p%2Fq-enc@host/", "q-enc", "http://****@host", "http://host" },
	{ "http://user-only@host", "user-only", "http://****@host", "http://host" },
	{ "http://:pw-nouser@host", "pw-nouser", "http://****@host", "http://host" },
	{ "http://u:pw:colon@host", "colon", "http://****@host", "http://host" },
	{ "http://u;opt-x:pw-opt@host", "pw-opt", "http://****@host", "http://host" },
	{ "http://u:pw-v6@[::1]:8086", "pw-v6", "http://****@[::1]:8086", "http://[::1]:8086" },
	{ "http://u:pw-zone@[fe80::1%25eth0]:8086/influx/", "pw-zone", "http://****@[fe80::1%25eth0]:8086/influx",
	  "http://[fe80::1%25eth0]:8086/influx" },
	{ "https://u:pw-q@host/?x=1", "pw-q", "https://****@host/?x=1", "https://host/?x=1" },
	/* no scheme: libcurl refuses it, the fallback still masks */
	{ "u:pw-noscheme@host:8086", "pw-noscheme", "****@host:8086", "host:8086" },
	/* '@' in the path, query or fragment only: no user-info, the URL as it is */
	{ "http://host/p@th?q=a@b#f@g", NULL, "http://host/p@th?q=a@b#f@g", "http://host/p@th?q=a@b#f@g" },
	{ "http://host:8086", NULL, "http://host:8086", "http://host:8086" },
	{ "http://[::1]:8086/", NULL, "http://[::1]:8086/", "http://[::1]:8086/" },
};

static void
user_info_never_shows(void **state)
{
	(void)state;
	for (size_t i = 0; i < PVT_COUNT(cases); i++) {
		const char *want[2] = { cases[i].masked, cases[i].dropped };
		const char *mask[2] = { "****@", "" };

		for (int m = 0; m < 2; m++) {
			char *got = pv_url_redact(cases[i].url, mask[m]);

			assert_non_null(got);
			if (cases[i].secret && strstr(got, cases[i].secret) != NULL)
				fail_msg("%s: the secret shows: %s", cases[i].url, got);
			if (strcmp(got, want[m]) != 0)
				fail_msg("%s with mask '%s': %s, expected %s", cases[i].url, mask[m], got, want[m]);
			free(got);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_info_never_shows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
