/* smx_progress: the progress line of tools/progress.h (terminal detection, rate limit, time-left estimate). */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double smx_progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *dur(char *b, size_t n, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(b, n, "%lds", t);
  return b;
}

void smx_progress_begin(smx_progress *p, const char *stage) {
  const char *e = getenv("SMX_PROGRESS");
  p->stage = stage;
  p->t0 = p->last = smx_progress_now();
  p->drawn = 0;
  p->step[0] = 0;
  p->mode = e && !strcmp(e, "off") ? 0 : e && !strcmp(e, "lines") ? 1 : e && !strcmp(e, "tty") ? 2 : isatty(2) ? 2 : 1;
  if (p->mode == 1) {
    fprintf(stderr, "%s: started\n", stage);
    fflush(stderr);
  }
}

/* "~1m30s left"; none until 1% or 5 s, where the first chunks' timing says little (linear estimate). */
static const char *left(char *b, size_t n, double el, double f) {
  char a[32];
  if (f >= 0.01 || (f > 0 && el >= 5)) snprintf(b, n, "~%s left", dur(a, sizeof a, el / f - el));
  else snprintf(b, n, "estimating time left");
  return b;
}

static double clamp01(double f) { return f < 0 ? 0 : f > 1 ? 1 : f; }

void smx_progress_update(smx_progress *p, double f) {
  double t = smx_progress_now(), el = t - p->t0;
  char a[32], b[48];
  if (p->mode != 2 || t - p->last < 1.0) return;
  p->last = t;
  f = clamp01(f);
  fprintf(stderr, "\r%s%s%s: %5.1f%%, %s elapsed, %s\033[K", p->stage, p->step[0] ? " " : "", p->step, 100 * f,
          dur(a, sizeof a, el), left(b, sizeof b, el, f));
  fflush(stderr);
  p->drawn = 1;
}

void smx_progress_step(smx_progress *p, const char *step, double f) {
  char b[48];
  snprintf(p->step, sizeof p->step, "%s", step);
  if (p->mode == 1) {
    f = clamp01(f);
    fprintf(stderr, "%s: %s (%.0f%% done, %s)\n", p->stage, step, 100 * f,
            left(b, sizeof b, smx_progress_now() - p->t0, f));
    fflush(stderr);
  } else if (p->mode == 2) {
    p->last -= 1.0; /* redraw at once */
    smx_progress_update(p, f);
  }
}

void smx_progress_end(smx_progress *p) {
  char a[32];
  double el = smx_progress_now() - p->t0;
  if (p->mode == 0) return;
  smx_progress_clear(p);
  if (el < 60) snprintf(a, sizeof a, "%.1fs", el);
  else dur(a, sizeof a, el);
  fprintf(stderr, "%s: done in %s\n", p->stage, a);
  fflush(stderr);
}

void smx_progress_clear(smx_progress *p) {
  if (!p->drawn) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
  p->drawn = 0;
  p->last -= 1.0; /* the next update redraws at once */
}
