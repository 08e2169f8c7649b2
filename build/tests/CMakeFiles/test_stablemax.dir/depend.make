# Empty dependencies file for test_stablemax.
# This may be replaced when dependencies are built.
