file(REMOVE_RECURSE
  "CMakeFiles/test_xent.dir/test_xent.c.o"
  "CMakeFiles/test_xent.dir/test_xent.c.o.d"
  "test_xent"
  "test_xent.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_xent.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
