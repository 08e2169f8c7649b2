# Empty compiler generated dependencies file for smx_oracle.
# This may be replaced when dependencies are built.
