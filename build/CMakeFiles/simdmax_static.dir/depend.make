# Empty dependencies file for simdmax_static.
# This may be replaced when dependencies are built.
