"""Ising observables of a stored model beside the exact 2D Ising references."""
