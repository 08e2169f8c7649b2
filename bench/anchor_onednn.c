/* oneDNN softmax anchor through the C API: forward inference, accurate algorithm, axis 1 of a
   rows x n row-major tensor. oneDNN 2.x (softmax v2 descriptor, Debian 12 has 2.6) and 3.x
   (primitive-descriptor create) are both handled. Debian's oneDNN uses OpenMP: it is limited
   to one thread through omp_set_num_threads, looked up in the already loaded OpenMP runtime
   (no OpenMP flags needed to build this file). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "anchors.h"

struct anchor_dnnl {
  dnnl_primitive_t prim;
  dnnl_memory_t src, dst;
  const void *x;
  void *y;
  char impl[64];
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int single_thread;

static int init(const char **why) {
  if (engine) return 0;
  void (*set_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
  if (set_threads) {
    set_threads(1);
    single_thread = 1;
  }
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) { *why = "dnnl_engine_create failed"; return -1; }
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    *why = "dnnl_stream_create failed";
    return -1;
  }
  return 0;
}

int anchor_dnnl_single_thread(void) { return single_thread; }

anchor_dnnl *anchor_dnnl_create(size_t rows, size_t n, const char **why) { return anchor_dnnl_create_typed(rows, n, 0, why); }

anchor_dnnl *anchor_dnnl_create_typed(size_t rows, size_t n, int type, const char **why) {
  if (init(why)) return NULL;
  const dnnl_data_type_t dt = type == 1 ? dnnl_bf16 : type == 2 ? dnnl_f16 : dnnl_f32;
  anchor_dnnl *a = calloc(1, sizeof *a);
  if (!a) { *why = "out of memory"; return NULL; }
  dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)n};
  dnnl_primitive_desc_t pd = NULL;
  const char *impl = NULL;
#if DNNL_VERSION_MAJOR >= 3
  dnnl_memory_desc_t md = NULL;
  if (dnnl_memory_desc_create_with_tag(&md, 2, dims, dt, dnnl_ab) != dnnl_success) { *why = "memory desc"; goto fail; }
  if (dnnl_softmax_forward_primitive_desc_create(&pd, engine, dnnl_forward_inference, dnnl_softmax_accurate, md, md, 1,
                                                 NULL) != dnnl_success) {
    *why = "dnnl_softmax_forward_primitive_desc_create failed";
    goto fail;
  }
#define SMX_MD md
#else
  dnnl_memory_desc_t md;
  dnnl_softmax_v2_desc_t sd;
  if (dnnl_memory_desc_init_by_tag(&md, 2, dims, dt, dnnl_ab) != dnnl_success) { *why = "memory desc"; goto fail; }
  if (dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate, &md, &md, 1) != dnnl_success) {
    *why = "dnnl_softmax_v2_forward_desc_init failed";
    goto fail;
  }
  if (dnnl_primitive_desc_create(&pd, &sd, NULL, engine, NULL) != dnnl_success) { *why = "primitive desc"; goto fail; }
#define SMX_MD &md
#endif
  /* The string belongs to pd: copy it before pd is destroyed. */
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) impl = "?";
  snprintf(a->impl, sizeof a->impl, "%s", impl);
  if (dnnl_primitive_create(&a->prim, pd) != dnnl_success) { *why = "dnnl_primitive_create failed"; goto fail; }
  /* Placeholder handles; run() points them at the caller's buffers. */
  if (dnnl_memory_create(&a->src, SMX_MD, engine, DNNL_MEMORY_NONE) != dnnl_success ||
      dnnl_memory_create(&a->dst, SMX_MD, engine, DNNL_MEMORY_NONE) != dnnl_success) {
    *why = "dnnl_memory_create failed";
    goto fail;
  }
#undef SMX_MD
  dnnl_primitive_desc_destroy(pd);
#if DNNL_VERSION_MAJOR >= 3
  dnnl_memory_desc_destroy(md);
#endif
  return a;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
#if DNNL_VERSION_MAJOR >= 3
  if (md) dnnl_memory_desc_destroy(md);
#endif
  anchor_dnnl_destroy(a);
  return NULL;
}

int anchor_dnnl_run(anchor_dnnl *a, const void *x, void *y) {
  if (x != a->x) {
    if (dnnl_memory_set_data_handle(a->src, (void *)x) != dnnl_success) return -1;
    a->x = x;
  }
  if (y != a->y) {
    if (dnnl_memory_set_data_handle(a->dst, y) != dnnl_success) return -1;
    a->y = y;
  }
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, a->src}, {DNNL_ARG_DST, a->dst}};
  if (dnnl_primitive_execute(a->prim, stream, 2, args) != dnnl_success) return -1;
  return dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
}

const char *anchor_dnnl_impl(const anchor_dnnl *a) { return a->impl; }

void anchor_dnnl_destroy(anchor_dnnl *a) {
  if (!a) return;
  if (a->src) dnnl_memory_destroy(a->src);
  if (a->dst) dnnl_memory_destroy(a->dst);
  if (a->prim) dnnl_primitive_destroy(a->prim);
  free(a);
}

const char *anchor_dnnl_isa(void) {
  static char other[32];
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  switch (isa) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
#if DNNL_VERSION_MAJOR < 3
  case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
  case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
#endif
  default: snprintf(other, sizeof other, "isa 0x%x", (unsigned)isa); return other;
  }
}

const char *anchor_dnnl_version(void) {
  static char buf[64];
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
  return buf;
}
