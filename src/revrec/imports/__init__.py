"""Reading files into engine frames: mappings, header checks, row validation."""
