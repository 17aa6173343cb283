"""Datasets the paper used (CK+, SAVEE, AFEW) and a generic layout, read as labelled samples."""
