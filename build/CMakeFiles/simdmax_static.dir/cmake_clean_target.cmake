file(REMOVE_RECURSE
  "libsimdmax.a"
)
