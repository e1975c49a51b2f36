"""Template tags of the record request pages."""
