/* The calling thread's parallel setting and its built-in pool (one per calling thread, so concurrent
   callers never share or wait for each other), and the row split of smx_run_rows. */
#include <pthread.h>
#include <stdatomic.h>
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
} setting;

/* ---- the built-in pool: workers wait for a generation, take task indices until none are left ---- */
struct pool {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  pthread_t *workers;
  size_t nworkers, busy;
  unsigned long gen;
  int quit;
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
  unsigned long seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
    if (p->quit) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    take_tasks(p);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_free(pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
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
  pthread_mutex_lock(&p->mu);
  p->task = task, p->ctx = task_ctx, p->count = count;
  atomic_store(&p->next, 0);
  p->busy = p->nworkers;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  take_tasks(p); /* the calling thread works too */
  pthread_mutex_lock(&p->mu);
  while (p->busy) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
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

size_t smx_get_num_threads(void) { return setting.threads > 1 ? setting.threads : 1; }

/* ---- the row split ---- */
typedef struct {
  const smx_rows_job *job;
  size_t rows_per_task;
} split;

static void run_task(void *ctx, size_t t) {
  const split *s = ctx;
  const size_t r0 = t * s->rows_per_task, r1 = r0 + s->rows_per_task < s->job->rows ? r0 + s->rows_per_task : s->job->rows;
  SMX_IN_FPENV(s->job->run(s->job, r0, r1));
}

void smx_run_rows(const smx_rows_job *job) {
  const size_t rows = job->rows, threads = smx_get_num_threads();
  if (threads <= 1 || rows <= 1 || rows * job->n < SMX_MIN_TASK_ELEMS) {
    SMX_IN_FPENV(job->run(job, 0, rows));
    return;
  }
  size_t tasks = threads * 4 < rows ? threads * 4 : rows; /* a few tasks per thread balance the load */
  split s = {job, (rows + tasks - 1) / tasks};
  tasks = (rows + s.rows_per_task - 1) / s.rows_per_task;
  if (setting.pfor) setting.pfor(setting.pfor_ctx, run_task, &s, tasks);
  else pool_run(setting.own, run_task, &s, tasks);
}
