/* Everything internal in one include, for tests and tools that check the numerics directly. */
#ifndef SMX_INTERNAL_H
#define SMX_INTERNAL_H
#include "kernels.h"
#include "numerics.h"
#include "rowstate.h"
#include "sparsemax_common.h"
#include "stablemax_common.h"
#include "xent.h"
#endif
