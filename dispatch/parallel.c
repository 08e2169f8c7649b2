/* The calling thread's call settings (threads, and the streaming threshold that each call hands its tasks) and its
   built-in pool (one per calling thread, so concurrent callers never share or wait for each other), and the row
   split of smx_run_rows. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "fpenv.h"
#include "parallel.h"

#define SMX_MIN_TASK_ELEMS 16384 /* below this many elements a call stays on the calling thread */

typedef struct pool pool;
static _Thread_local struct {
  size_t threads;           /* 0 or 1: the calling thread only */
  smx_parallel_for_fn pfor; /* the framework's parallel-for, or NULL */
  void *pfor_ctx;
  pool *own; /* the built-in pool of this thread (threads - 1 workers) */
  int stream_set;    /* 1: stream_min set by smx_set_streaming_threshold, else the default */
  size_t stream_min; /* calls writing at least this many output bytes stream them */
} setting;
_Thread_local int smx_stream_out __attribute__((tls_model("initial-exec")));

/* ---- the built-in pool: workers wait for a generation, take task indices until none are left. Waits spin
   a while before they block (a futex wake costs 5-20 us on a VM, as much as a 2^16-entry row), so the calls
   of a burst, and the two passes of a split long row, find the workers awake. ---- */
#if defined(__x86_64__) || defined(__i386__)
#define SPIN_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define SPIN_PAUSE() __asm__ __volatile__("yield")
#else
#define SPIN_PAUSE() ((void)0)
#endif
#define SPIN_ROUNDS 4096 /* pauses before a wait blocks: about 20-200 us, by the CPU's pause */

struct pool {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  pthread_t *workers;
  size_t nworkers;
  size_t sleepers; /* workers blocked on go (under mu) */
  int waiting;     /* the caller blocked on done (under mu) */
  atomic_ulong gen;
  atomic_size_t busy;
  atomic_int quit;
  smx_task_fn task;
  void *ctx;
  size_t count;
  atomic_size_t next;
};

static void take_tasks(pool *p) {
  for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->count;) p->task(p->ctx, i);
}

static void *worker(void *arg) {
  pool *p = arg;
  unsigned long seen = 0, g = 0;
  for (;;) {
    for (int i = 0; i < SPIN_ROUNDS && (g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                    !atomic_load_explicit(&p->quit, memory_order_relaxed);
         i++)
      SPIN_PAUSE();
    if (g == seen) {
      pthread_mutex_lock(&p->mu);
      while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->quit)) {
        p->sleepers++;
        pthread_cond_wait(&p->go, &p->mu);
        p->sleepers--;
      }
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->quit)) break;
    seen = g;
    take_tasks(p);
    if (atomic_fetch_sub(&p->busy, 1) == 1) { /* the last one out wakes a blocked caller */
      pthread_mutex_lock(&p->mu);
      if (p->waiting) pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

static void pool_free(pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->nworkers; i++) pthread_join(p->workers[i], NULL);
  pthread_mutex_destroy(&p->mu), pthread_cond_destroy(&p->go), pthread_cond_destroy(&p->done);
  free(p->workers), free(p);
}

static pool *pool_new(size_t nworkers) {
  pool *p = calloc(1, sizeof *p);
  if (!p || !(p->workers = calloc(nworkers, sizeof *p->workers))) return free(p), NULL;
  pthread_mutex_init(&p->mu, NULL), pthread_cond_init(&p->go, NULL), pthread_cond_init(&p->done, NULL);
  for (; p->nworkers < nworkers; p->nworkers++)
    if (pthread_create(&p->workers[p->nworkers], NULL, worker, p)) break; /* fewer workers: still correct */
  return p;
}

/* The pool goes with the thread that made it. */
static pthread_key_t pool_key;
static pthread_once_t pool_key_once = PTHREAD_ONCE_INIT;
static void pool_key_init(void) { pthread_key_create(&pool_key, (void (*)(void *))pool_free); }

static void pool_run(void *ctx, smx_task_fn task, void *task_ctx, size_t count) {
  pool *p = ctx;
  p->task = task, p->ctx = task_ctx, p->count = count;
  atomic_store(&p->next, 0);
  atomic_store(&p->busy, p->nworkers);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release); /* spinning workers start here */
  pthread_mutex_lock(&p->mu);
  if (p->sleepers) pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  take_tasks(p); /* the calling thread works too */
  for (int i = 0; i < SPIN_ROUNDS && atomic_load_explicit(&p->busy, memory_order_acquire); i++) SPIN_PAUSE();
  if (atomic_load(&p->busy)) {
    pthread_mutex_lock(&p->mu);
    p->waiting = 1;
    while (atomic_load(&p->busy)) pthread_cond_wait(&p->done, &p->mu);
    p->waiting = 0;
    pthread_mutex_unlock(&p->mu);
  }
}

smx_status smx_set_num_threads(size_t threads) {
  if (threads == 0 || threads > 1024) return SMX_ERR_ARG;
  pthread_once(&pool_key_once, pool_key_init);
  if (setting.own && setting.own->nworkers + 1 != threads) {
    pool_free(setting.own);
    setting.own = NULL;
    pthread_setspecific(pool_key, NULL);
  }
  if (threads > 1 && !setting.own) {
    if (!(setting.own = pool_new(threads - 1))) return SMX_ERR_ARG;
    pthread_setspecific(pool_key, setting.own);
  }
  setting.threads = threads, setting.pfor = NULL, setting.pfor_ctx = NULL;
  return SMX_OK;
}

smx_status smx_set_parallel_for(smx_parallel_for_fn parallel_for, void *ctx, size_t max_tasks) {
  if (parallel_for && max_tasks == 0) return SMX_ERR_ARG;
  setting.pfor = parallel_for, setting.pfor_ctx = ctx;
  setting.threads = parallel_for ? max_tasks : (setting.own ? setting.own->nworkers + 1 : 1);
  return SMX_OK;
}

static size_t threads_now(void) { return setting.threads > 1 ? setting.threads : 1; }
size_t smx_get_num_threads(void) { return threads_now(); }

/* ---- streaming stores: the default threshold is the last-level cache of CPU 0 as Linux reports it (sysfs: a VM's
   CPUID may count every cache of the host), else 32 MiB ---- */
static size_t llc_bytes;
static pthread_once_t llc_once = PTHREAD_ONCE_INIT;
static void llc_read(void) {
  llc_bytes = (size_t)32 << 20;
  for (int i = 0; i < 8; i++) {
    char path[64], buf[32];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    unsigned long long kib;
    char unit = 0;
    if (fgets(buf, sizeof buf, f) && sscanf(buf, "%llu%c", &kib, &unit) == 2 && kib > 0 && unit == 'K')
      llc_bytes = (size_t)kib << 10; /* the last index listed is the last level */
    fclose(f);
  }
}
void smx_set_streaming_threshold(size_t min_bytes) { setting.stream_set = 1, setting.stream_min = min_bytes; }
size_t smx_get_streaming_threshold(void) {
  if (setting.stream_set) return setting.stream_min;
  pthread_once(&llc_once, llc_read);
  return llc_bytes;
}
/* whether a job writes enough output to stream it: its f32 matrix output (not logsumexp's one float a row). A 16-bit
   job never does: its outputs go by plain stores (streamed through a step buffer they took 0.90-1.14x the time, Zen 4)
   and its f32 passes write scratches that are read back at once (streamed, a bf16 row of 2^24 on 2 threads took
   1.14-1.20x the time). */
static int job_streams(const smx_rows_job *job) {
  size_t bytes;
  return !job->x16 && job->out && job->id != SMX_KERNEL_ID_logsumexp &&
         (__builtin_mul_overflow(job->rows, job->n, &bytes) || __builtin_mul_overflow(bytes, sizeof(float), &bytes) ||
          bytes >= smx_get_streaming_threshold());
}
/* the kernels' streamed stores are weakly ordered: fenced before the task counts as done */
static void stream_fence(int stream) {
#if defined(__x86_64__) || defined(__i386__)
  if (stream) __builtin_ia32_sfence();
#else
  (void)stream;
#endif
}

/* ---- tasks and the row split ---- */
typedef struct {
  smx_task_fn task;
  void *ctx;
  int stream; /* the calling thread's smx_stream_out, on every task */
} env_task;
static void run_env_task(void *ctx, size_t i) {
  const env_task *e = ctx;
  const int outer = smx_stream_out;
  smx_stream_out = e->stream;
  SMX_IN_FPENV(e->task(e->ctx, i));
  stream_fence(e->stream);
  smx_stream_out = outer;
}

void smx_run_tasks(smx_task_fn task, void *ctx, size_t count) {
  env_task e = {task, ctx, smx_stream_out};
  if (threads_now() <= 1 || count <= 1)
    for (size_t i = 0; i < count; i++) run_env_task(&e, i);
  else if (setting.pfor) setting.pfor(setting.pfor_ctx, run_env_task, &e, count);
  else pool_run(setting.own, run_env_task, &e, count);
}

typedef struct {
  const smx_rows_job *job;
  size_t rows_per_task;
} split;

static void run_task(void *ctx, size_t t) {
  const split *s = ctx;
  const size_t r0 = t * s->rows_per_task, r1 = r0 + s->rows_per_task < s->job->rows ? r0 + s->rows_per_task : s->job->rows;
  s->job->run(s->job, r0, r1);
}

int smx_rows_threaded(size_t rows, size_t n) { return rows * n >= SMX_MIN_TASK_ELEMS && threads_now() > 1; }
void smx_run_rows(const smx_rows_job *job) {
  const size_t rows = job->rows, threads = smx_rows_threaded(rows, job->n) ? threads_now() : 1;
  const int outer = smx_stream_out;
  smx_stream_out = job_streams(job);
  if (threads <= 1) {
    SMX_IN_FPENV(job->run(job, 0, rows));
    stream_fence(smx_stream_out);
  } else if (!(rows < threads && smx_run_long_rows(job))) {
    size_t tasks = threads * 4 < rows ? threads * 4 : rows; /* a few tasks per thread balance the load */
    split s = {job, (rows + tasks - 1) / tasks};
    tasks = (rows + s.rows_per_task - 1) / s.rows_per_task;
    smx_run_tasks(run_task, &s, tasks);
  }
  smx_stream_out = outer;
}
