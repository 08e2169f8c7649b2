# Empty dependencies file for test_backward.
# This may be replaced when dependencies are built.
