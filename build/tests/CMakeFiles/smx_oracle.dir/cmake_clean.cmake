file(REMOVE_RECURSE
  "CMakeFiles/smx_oracle.dir/oracle/oracle.c.o"
  "CMakeFiles/smx_oracle.dir/oracle/oracle.c.o.d"
  "libsmx_oracle.a"
  "libsmx_oracle.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/smx_oracle.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
