# Empty compiler generated dependencies file for smx_testutil.
# This may be replaced when dependencies are built.
