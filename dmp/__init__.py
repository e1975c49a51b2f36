"""The shared record (DMP, in Mon espace santé): built by the DMP, consent and feed issues."""
