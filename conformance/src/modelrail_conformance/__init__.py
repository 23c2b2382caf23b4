"""Checks that a model service meets the modelrail platform contract."""
