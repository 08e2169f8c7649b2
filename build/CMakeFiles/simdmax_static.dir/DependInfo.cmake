
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/dispatch/api.c" "CMakeFiles/simdmax_static.dir/dispatch/api.c.o" "gcc" "CMakeFiles/simdmax_static.dir/dispatch/api.c.o.d"
  "/work/main/dispatch/cpu.c" "CMakeFiles/simdmax_static.dir/dispatch/cpu.c.o" "gcc" "CMakeFiles/simdmax_static.dir/dispatch/cpu.c.o.d"
  "/work/main/dispatch/dispatch.c" "CMakeFiles/simdmax_static.dir/dispatch/dispatch.c.o" "gcc" "CMakeFiles/simdmax_static.dir/dispatch/dispatch.c.o.d"
  "/work/main/dispatch/xent.c" "CMakeFiles/simdmax_static.dir/dispatch/xent.c.o" "gcc" "CMakeFiles/simdmax_static.dir/dispatch/xent.c.o.d"
  "/work/main/kernels/avx2/normalizers_avx2.c" "CMakeFiles/simdmax_static.dir/kernels/avx2/normalizers_avx2.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx2/normalizers_avx2.c.o.d"
  "/work/main/kernels/avx2/softmax_avx2.c" "CMakeFiles/simdmax_static.dir/kernels/avx2/softmax_avx2.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx2/softmax_avx2.c.o.d"
  "/work/main/kernels/avx2/table_avx2.c" "CMakeFiles/simdmax_static.dir/kernels/avx2/table_avx2.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx2/table_avx2.c.o.d"
  "/work/main/kernels/avx512/normalizers_avx512.c" "CMakeFiles/simdmax_static.dir/kernels/avx512/normalizers_avx512.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx512/normalizers_avx512.c.o.d"
  "/work/main/kernels/avx512/softmax_avx512.c" "CMakeFiles/simdmax_static.dir/kernels/avx512/softmax_avx512.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx512/softmax_avx512.c.o.d"
  "/work/main/kernels/avx512/table_avx512.c" "CMakeFiles/simdmax_static.dir/kernels/avx512/table_avx512.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/avx512/table_avx512.c.o.d"
  "/work/main/kernels/common/dmath.c" "CMakeFiles/simdmax_static.dir/kernels/common/dmath.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/common/dmath.c.o.d"
  "/work/main/kernels/common/lanes.c" "CMakeFiles/simdmax_static.dir/kernels/common/lanes.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/common/lanes.c.o.d"
  "/work/main/kernels/common/rowstate.c" "CMakeFiles/simdmax_static.dir/kernels/common/rowstate.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/common/rowstate.c.o.d"
  "/work/main/kernels/common/sparsemax_tau.c" "CMakeFiles/simdmax_static.dir/kernels/common/sparsemax_tau.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/common/sparsemax_tau.c.o.d"
  "/work/main/kernels/scalar/normalizers_scalar.c" "CMakeFiles/simdmax_static.dir/kernels/scalar/normalizers_scalar.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/scalar/normalizers_scalar.c.o.d"
  "/work/main/kernels/scalar/softmax_scalar.c" "CMakeFiles/simdmax_static.dir/kernels/scalar/softmax_scalar.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/scalar/softmax_scalar.c.o.d"
  "/work/main/kernels/scalar/table_scalar.c" "CMakeFiles/simdmax_static.dir/kernels/scalar/table_scalar.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/scalar/table_scalar.c.o.d"
  "/work/main/kernels/scalar/xent_scalar.c" "CMakeFiles/simdmax_static.dir/kernels/scalar/xent_scalar.c.o" "gcc" "CMakeFiles/simdmax_static.dir/kernels/scalar/xent_scalar.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
