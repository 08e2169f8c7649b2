file(REMOVE_RECURSE
  "CMakeFiles/test_sparsemax.dir/test_sparsemax.c.o"
  "CMakeFiles/test_sparsemax.dir/test_sparsemax.c.o.d"
  "test_sparsemax"
  "test_sparsemax.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_sparsemax.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
