"""AD security descriptors: binary parsing, SDDL, DACL edits and their restore."""
