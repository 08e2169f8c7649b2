file(REMOVE_RECURSE
  "CMakeFiles/test_softmax.dir/test_softmax.c.o"
  "CMakeFiles/test_softmax.dir/test_softmax.c.o.d"
  "test_softmax"
  "test_softmax.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_softmax.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
