file(REMOVE_RECURSE
  "libsmx_oracle.a"
)
