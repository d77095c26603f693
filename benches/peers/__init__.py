"""What users would pick instead of modeltap, set up to be measured beside it."""
