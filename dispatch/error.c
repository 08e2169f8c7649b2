/* smx_last_error_message: each thread's last failure as a sentence, set through smx_fail. */
#include <stdarg.h>
#include <stdio.h>

#include "dispatch.h"

static _Thread_local char last_error[256];

const char *smx_last_error_message(void) { return last_error; }

smx_status smx_fail(smx_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return s;
}
