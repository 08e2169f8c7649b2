file(REMOVE_RECURSE
  "libsmx_testutil.a"
)
