"""Test helpers shared by the test modules (fake servers, fixtures that are not pytest plugins)."""
