"""The states of the training workflow, one file per stage of DESIGN.md's flow."""
