# CMake generated Testfile for 
# Source directory: /work/main/tools
# Build directory: /work/main/build/tools
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[validate_quick]=] "/work/main/build/tools/smx-validate" "--quick")
set_tests_properties([=[validate_quick]=] PROPERTIES  TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tools/CMakeLists.txt;35;add_test;/work/main/tools/CMakeLists.txt;0;")
