"""Shared plumbing: database, errors, security, images, CSV."""
