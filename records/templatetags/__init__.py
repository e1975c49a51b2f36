"""Template tags of the hospital record's pages."""
