"""The demo cast of the README; it sits above every app, since seeding touches them all."""
