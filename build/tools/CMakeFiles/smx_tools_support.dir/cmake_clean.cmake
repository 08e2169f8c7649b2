file(REMOVE_RECURSE
  "CMakeFiles/smx_tools_support.dir/corpus.c.o"
  "CMakeFiles/smx_tools_support.dir/corpus.c.o.d"
  "CMakeFiles/smx_tools_support.dir/sha256.c.o"
  "CMakeFiles/smx_tools_support.dir/sha256.c.o.d"
  "libsmx_tools_support.a"
  "libsmx_tools_support.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/smx_tools_support.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
