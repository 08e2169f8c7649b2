file(REMOVE_RECURSE
  "CMakeFiles/smx-validate.dir/smx_validate.c.o"
  "CMakeFiles/smx-validate.dir/smx_validate.c.o.d"
  "smx-validate"
  "smx-validate.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/smx-validate.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
