# Empty compiler generated dependencies file for test_sparsemax.
# This may be replaced when dependencies are built.
