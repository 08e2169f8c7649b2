# Empty compiler generated dependencies file for smx_tools_support.
# This may be replaced when dependencies are built.
