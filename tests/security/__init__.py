"""Tests of security hardening."""
