"""Helpers shared by the app's pages: cached store access and common widgets."""
