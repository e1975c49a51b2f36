"""The demo cast of DEMO.md; it sits above every app, since seeding touches them all."""
