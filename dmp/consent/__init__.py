"""Who may read a patient's DMP besides her GP: consent requests, grants, emergency access, blocking."""
