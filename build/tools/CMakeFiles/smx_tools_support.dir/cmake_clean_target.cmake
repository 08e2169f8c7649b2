file(REMOVE_RECURSE
  "libsmx_tools_support.a"
)
