"""Dossiers: submission, reception, processing, return — and their trail, codes and lookups."""
