/* One ISA's kernel table, or NULL where that ISA is not compiled in: CMake writes a file per registered
   ISA that defines SMX_ISA_NAME (and SMX_ISA_OFF when the ISA is absent, SMX_ISA_REFERENCE for scalar) and
   includes this one. */
#include "kernels.h"

#define SMX_TABLE_SYMBOL SMX_CAT(smx_table, SMX_ISA_NAME)
#ifdef SMX_ISA_OFF
const smx_kernels *const SMX_TABLE_SYMBOL = NULL;
#else
#define SMX_DECLARE_(name, kind, forward) smx_##kind##_fn SMX_KERNEL_NAME(name);
SMX_KERNELS(SMX_DECLARE_)
#define SMX_PIECE_DECLARE_(name) smx_##name##_fn SMX_KERNEL_NAME(name);
SMX_PIECES(SMX_PIECE_DECLARE_)
#define SMX_ENTRY_(name, kind, forward) .name = SMX_KERNEL_NAME(name),
#define SMX_PIECE_ENTRY_(name) .name = SMX_KERNEL_NAME(name),
#ifdef SMX_ISA_REFERENCE
#define SMX_TABLE_FUSED16 SMX_FUSED16_REF /* the others NULL */
#else
#define SMX_TABLE_FUSED16 SMX_FUSED16
#endif
#define SMX_FUSED16_DECLARE_(name, kind) smx_##kind##16_fn SMX_KERNEL_NAME(name##16);
SMX_TABLE_FUSED16(SMX_FUSED16_DECLARE_)
#define SMX_FUSED16_ENTRY_(name, kind) .name##16 = SMX_KERNEL_NAME(name##16),
static const smx_kernels table = {SMX_KERNELS(SMX_ENTRY_) SMX_PIECES(SMX_PIECE_ENTRY_)
                                      SMX_TABLE_FUSED16(SMX_FUSED16_ENTRY_)};
const smx_kernels *const SMX_TABLE_SYMBOL = &table;
#endif
