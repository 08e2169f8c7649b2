file(REMOVE_RECURSE
  "CMakeFiles/smx_testutil.dir/testutil.c.o"
  "CMakeFiles/smx_testutil.dir/testutil.c.o.d"
  "libsmx_testutil.a"
  "libsmx_testutil.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/smx_testutil.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
