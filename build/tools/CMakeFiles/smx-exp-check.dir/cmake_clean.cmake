file(REMOVE_RECURSE
  "CMakeFiles/smx-exp-check.dir/exp_exhaustive.c.o"
  "CMakeFiles/smx-exp-check.dir/exp_exhaustive.c.o.d"
  "smx-exp-check"
  "smx-exp-check.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/smx-exp-check.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
