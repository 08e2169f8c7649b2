# Cross-compile simdmax for AArch64 Linux with Debian's aarch64-linux-gnu GCC and run the
# results (ctest, tools) under qemu-user. Prepare the machine with scripts/aarch64-setup.sh.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DSMX_BUILD_BENCH=OFF
#
# Where things come from:
#   - libc/libm/libpthread headers and link stubs: /usr/aarch64-linux-gnu (libc6-dev-arm64-cross);
#   - the guest's runtime libc: libc6:arm64 in /usr/lib/aarch64-linux-gnu, found by the guest's own
#     ld.so. So qemu gets no -L and no QEMU_LD_PREFIX: a cross libc mixed with libc6:arm64 hangs
#     in pthread_create;
#   - Criterion and its runtime closure (libgit2, nanomsg, ...): a private sysroot unpacked by the
#     setup script, $ENV{SMX_AARCH64_DEPS} or /opt/smx-aarch64. Executables get a DT_RPATH (not
#     RUNPATH: RPATH also covers the dependencies of libcriterion.so) to its lib dir, so they run
#     from ctest, from qemu-aarch64 directly, and through binfmt_misc when Criterion re-executes
#     the test binary for each test.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(DEFINED ENV{SMX_AARCH64_DEPS})
  set(SMX_AARCH64_DEPS "$ENV{SMX_AARCH64_DEPS}")
else()
  set(SMX_AARCH64_DEPS /opt/smx-aarch64)
endif()
set(SMX_AARCH64_DEPS_LIB "${SMX_AARCH64_DEPS}/usr/lib/aarch64-linux-gnu")
if(NOT EXISTS "${SMX_AARCH64_DEPS}/usr/include/criterion/criterion.h")
  message(WARNING "toolchain-aarch64: no Criterion in ${SMX_AARCH64_DEPS} (run scripts/aarch64-setup.sh as root)")
endif()

# Headers and libraries only from the target's trees, programs only from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu "${SMX_AARCH64_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (if a project uses it while cross-compiling) sees only the private sysroot's .pc files.
set(ENV{PKG_CONFIG_LIBDIR} "${SMX_AARCH64_DEPS_LIB}/pkgconfig:${SMX_AARCH64_DEPS}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SMX_AARCH64_DEPS}")
unset(ENV{PKG_CONFIG_PATH})

# Link-time: find libcriterion's own dependencies; run-time: DT_RPATH to the private libs.
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-Wl,--disable-new-dtags -Wl,-rpath,${SMX_AARCH64_DEPS_LIB} -Wl,-rpath-link,${SMX_AARCH64_DEPS_LIB}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${SMX_AARCH64_DEPS_LIB}")

# ctest (and add_custom_command with a target as COMMAND) run aarch64 executables through qemu.
# LD_LIBRARY_PATH for the guest only (-E), in case an executable lacks the RPATH above; Criterion's
# per-test children inherit it through the guest environment.
find_program(SMX_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(NOT SMX_QEMU_AARCH64)
  set(SMX_QEMU_AARCH64 qemu-aarch64)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "${SMX_QEMU_AARCH64};-E;LD_LIBRARY_PATH=${SMX_AARCH64_DEPS_LIB}")
