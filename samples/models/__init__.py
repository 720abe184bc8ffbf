"""OEM model data files (``bpass passport issue --model``) of the sample packs."""
