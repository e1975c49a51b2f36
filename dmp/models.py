"""Models of the shared record (DMP); the DMP issue adds documents, grants and settings here."""
