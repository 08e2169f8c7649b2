/* XNNPACK softmax_nc_f32 anchor (the 2022 operator API of Debian 12's libxnnpack: create with
   the channel count and strides, setup with the batch and pointers, run; no thread pool, so
   single-threaded). CMake checks that this file compiles against the installed header. */
#include <stdlib.h>
#include <xnnpack.h>

#include "anchors.h"

struct anchor_xnn {
  xnn_operator_t op;
  size_t rows;
  const float *x;
  float *y;
};

anchor_xnn *anchor_xnn_create(size_t n, const char **why) {
  static int init = 0;
  if (!init) {
    if (xnn_initialize(NULL) != xnn_status_success) { *why = "xnn_initialize failed"; return NULL; }
    init = 1;
  }
  anchor_xnn *a = calloc(1, sizeof *a);
  if (!a) { *why = "out of memory"; return NULL; }
  if (xnn_create_softmax_nc_f32(n, n, n, 0, &a->op) != xnn_status_success) {
    *why = "xnn_create_softmax_nc_f32 failed";
    free(a);
    return NULL;
  }
  return a;
}

int anchor_xnn_run(anchor_xnn *a, size_t rows, const float *x, float *y) {
  if (rows != a->rows || x != a->x || y != a->y) {
    if (xnn_setup_softmax_nc_f32(a->op, rows, x, y, NULL) != xnn_status_success) return -1;
    a->rows = rows;
    a->x = x;
    a->y = y;
  }
  return xnn_run_operator(a->op, NULL) == xnn_status_success ? 0 : -1;
}

void anchor_xnn_destroy(anchor_xnn *a) {
  if (!a) return;
  xnn_delete_operator(a->op);
  free(a);
}
