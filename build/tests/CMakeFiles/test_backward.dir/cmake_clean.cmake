file(REMOVE_RECURSE
  "CMakeFiles/test_backward.dir/test_backward.c.o"
  "CMakeFiles/test_backward.dir/test_backward.c.o.d"
  "test_backward"
  "test_backward.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_backward.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
