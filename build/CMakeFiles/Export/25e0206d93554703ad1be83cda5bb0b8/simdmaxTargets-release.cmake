#----------------------------------------------------------------
# Generated CMake target import file for configuration "Release".
#----------------------------------------------------------------

# Commands may need to know the format version.
set(CMAKE_IMPORT_FILE_VERSION 1)

# Import target "simdmax::simdmax" for configuration "Release"
set_property(TARGET simdmax::simdmax APPEND PROPERTY IMPORTED_CONFIGURATIONS RELEASE)
set_target_properties(simdmax::simdmax PROPERTIES
  IMPORTED_LOCATION_RELEASE "${_IMPORT_PREFIX}/lib/libsimdmax.so.0.1.0"
  IMPORTED_SONAME_RELEASE "libsimdmax.so.0.1"
  )

list(APPEND _cmake_import_check_targets simdmax::simdmax )
list(APPEND _cmake_import_check_files_for_simdmax::simdmax "${_IMPORT_PREFIX}/lib/libsimdmax.so.0.1.0" )

# Import target "simdmax::simdmax_static" for configuration "Release"
set_property(TARGET simdmax::simdmax_static APPEND PROPERTY IMPORTED_CONFIGURATIONS RELEASE)
set_target_properties(simdmax::simdmax_static PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELEASE "C"
  IMPORTED_LOCATION_RELEASE "${_IMPORT_PREFIX}/lib/libsimdmax.a"
  )

list(APPEND _cmake_import_check_targets simdmax::simdmax_static )
list(APPEND _cmake_import_check_files_for_simdmax::simdmax_static "${_IMPORT_PREFIX}/lib/libsimdmax.a" )

# Commands beyond this point should not need to know the version.
set(CMAKE_IMPORT_FILE_VERSION)
