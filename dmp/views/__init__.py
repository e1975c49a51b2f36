"""The DMP pages: documents, the patient's own pages, professionals, activation, consent and the feed dashboard."""
