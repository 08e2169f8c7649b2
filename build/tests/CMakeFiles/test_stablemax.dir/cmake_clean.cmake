file(REMOVE_RECURSE
  "CMakeFiles/test_stablemax.dir/test_stablemax.c.o"
  "CMakeFiles/test_stablemax.dir/test_stablemax.c.o.d"
  "test_stablemax"
  "test_stablemax.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_stablemax.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
