/* oneDNN softmax anchor through the C API (v2 softmax descriptor of oneDNN 2.6+: forward
   inference, accurate algorithm, axis 1 of a rows x n row-major tensor). Debian's oneDNN uses
   OpenMP: limited to one thread here. */
#include <omp.h>
#include <stdlib.h>
#include <dnnl.h>

#include "anchors.h"

struct anchor_dnnl {
  dnnl_primitive_t prim;
  dnnl_memory_t src, dst;
  const char *impl;
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static int init(const char **why) {
  if (engine) return 0;
  omp_set_num_threads(1);
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) { *why = "dnnl_engine_create failed"; return -1; }
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    *why = "dnnl_stream_create failed";
    return -1;
  }
  return 0;
}

anchor_dnnl *anchor_dnnl_create(size_t rows, size_t n, const float *x, float *y, const char **why) {
  if (init(why)) return NULL;
  anchor_dnnl *a = calloc(1, sizeof *a);
  if (!a) { *why = "out of memory"; return NULL; }
  dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)n};
  dnnl_memory_desc_t md;
  dnnl_softmax_v2_desc_t sd;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab) != dnnl_success) { *why = "memory desc"; goto fail; }
  if (dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate, &md, &md, 1) != dnnl_success) {
    *why = "dnnl_softmax_v2_forward_desc_init failed";
    goto fail;
  }
  if (dnnl_primitive_desc_create(&pd, &sd, NULL, engine, NULL) != dnnl_success) { *why = "primitive desc"; goto fail; }
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &a->impl) != dnnl_success) a->impl = "?";
  if (dnnl_primitive_create(&a->prim, pd) != dnnl_success) { *why = "dnnl_primitive_create failed"; goto fail; }
  dnnl_primitive_desc_destroy(pd);
  pd = NULL;
  if (dnnl_memory_create(&a->src, &md, engine, (void *)x) != dnnl_success ||
      dnnl_memory_create(&a->dst, &md, engine, y) != dnnl_success) {
    *why = "dnnl_memory_create failed";
    goto fail;
  }
  return a;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  anchor_dnnl_destroy(a);
  return NULL;
}

int anchor_dnnl_run(anchor_dnnl *a) {
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
  switch (dnnl_get_effective_cpu_isa()) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
  case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  default: return "other";
  }
}
