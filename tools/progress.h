/* smx_progress: a progress line for long tools on stderr (in place ~1/s on a terminal, one line per stage otherwise). */
#ifndef SMX_TOOLS_PROGRESS_H
#define SMX_TOOLS_PROGRESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* One stage of work. On a terminal (stderr a tty) update() redraws "stage: 42.0%, 1m05s elapsed,
   ~1m30s left" in place at most once a second and end() replaces it with the final line; otherwise
   (CI logs, files) begin() and end() print one line each and update() prints nothing.
   Call from one thread; SMX_PROGRESS=tty|lines|off overrides the detection.
   A run of several steps (sizes, benchmark groups) may stay one stage and name each step with
   step(): then the estimate covers the whole run, and logs get a line per step. */
typedef struct {
  const char *stage;
  char step[64];   /* the current step ("" for none) */
  double t0, last; /* start and last redraw, seconds (monotonic) */
  int mode;        /* 0 off, 1 a line per stage, 2 in place */
  int drawn;       /* an in-place line is on screen */
} smx_progress;

void smx_progress_begin(smx_progress *p, const char *stage);
void smx_progress_update(smx_progress *p, double fraction); /* fraction of the stage done, 0..1 */
/* A new step at this fraction of the stage: shown in the in-place line; in logs one line
   "stage: step (42% done, ~1m30s left)". */
void smx_progress_step(smx_progress *p, const char *step, double fraction);
void smx_progress_end(smx_progress *p);
void smx_progress_clear(smx_progress *p); /* erase the in-place line before printing to stdout */
double smx_progress_now(void); /* monotonic seconds */

#ifdef __cplusplus
}
#endif

#endif
