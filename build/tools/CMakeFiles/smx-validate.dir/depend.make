# Empty dependencies file for smx-validate.
# This may be replaced when dependencies are built.
