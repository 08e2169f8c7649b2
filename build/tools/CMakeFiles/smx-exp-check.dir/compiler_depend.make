# Empty compiler generated dependencies file for smx-exp-check.
# This may be replaced when dependencies are built.
