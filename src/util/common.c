#include <stdio.h>

#include "powerview/common.h"

int
pv_fail(pv_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *
pv_rc_name(int rc)
{
	switch (rc) {
	case PV_OK: return "ok";
	case PV_ENOMEM: return "out of memory";
	case PV_EIO: return "I/O error";
	case PV_EDATA: return "bad data";
	case PV_ECONFIG: return "configuration error";
	case PV_ETEMP: return "temporary failure";
	case PV_ENOENT: return "not found";
	default: return "unknown error";
	}
}
