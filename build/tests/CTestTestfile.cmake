# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[softmax]=] "/work/main/build/tests/test_softmax" "-j1")
set_tests_properties([=[softmax]=] PROPERTIES  TIMEOUT "3000" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[backward]=] "/work/main/build/tests/test_backward" "-j1")
set_tests_properties([=[backward]=] PROPERTIES  TIMEOUT "3000" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[sparsemax]=] "/work/main/build/tests/test_sparsemax" "-j1")
set_tests_properties([=[sparsemax]=] PROPERTIES  TIMEOUT "3000" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[stablemax]=] "/work/main/build/tests/test_stablemax" "-j1")
set_tests_properties([=[stablemax]=] PROPERTIES  TIMEOUT "3000" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[xent]=] "/work/main/build/tests/test_xent" "-j1")
set_tests_properties([=[xent]=] PROPERTIES  TIMEOUT "3000" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
