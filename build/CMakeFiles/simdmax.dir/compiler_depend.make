# Empty compiler generated dependencies file for simdmax.
# This may be replaced when dependencies are built.
